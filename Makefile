# Berth — build, test and demo. `make demo` and `make test` set up everything
# they need on a fresh Debian machine (as root).

GO        ?= go
BIN       ?= bin/berth
# The containers' init, a small binary installed beside berth; without it
# berth is its own init, only slower (engine/runtime/exe_linux.go: initBinary).
INIT_BIN  := $(dir $(BIN))berth-init
VERSION   ?= 0.1.0
LDFLAGS   := -X github.com/berthkit/berth/engine.Version=$(VERSION)
PREFIX    ?= /usr/local
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages the tests need; installed when missing.
TEST_DEBS := busybox-static skopeo umoci docker-registry chromium wine64 binutils-mingw-w64-x86-64 iproute2 mmdebstrap tmux uidmap fuse-overlayfs passt slirp4netns
# The unprivileged user the rootless tests run berth as (docs/rootless.md).
ROOTLESS_USER ?= berthtest
# make dist: one static binary per supported system, dist/berth-<os>-<arch>[.exe],
# and for Linux the containers' init, dist/berth-init-linux-<arch> (install it
# beside berth as berth-init).
DIST_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
# make lint vets (so builds) every package for these too, so Linux-only code
# cannot leak into the replay path.
LINT_TARGETS := linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
# The demo: busybox offline; mmdebstrap makes the Debian base that builds
# real redis when Docker Hub (alpine) is out of reach.
DEMO_DEBS := busybox-static mmdebstrap

.PHONY: all build dist test test-deps demo-deps lint bench bench-peers demo install lessons-record fuzz clean

all: build

# Static: no dynamic loader on every start (berth-init is each container's
# init, berth each detached container's supervisor).
# berth-init is built with Go's previous garbage collector (Go 1.25's
# default): it runs a few milliseconds before it execs the command and never
# reaches a collection, and Green Tea's inline mark bits fault in one more
# page per new span, ~9 of its ~195 page faults per start (docs/performance.md,
# "initfork"). A plain `go build ./cmd/berth-init` still works, with the
# default collector, and so does a Go that no longer knows the experiment
# (the flag is only passed when `go env` accepts it).
INIT_GOEXPERIMENT := $(shell GOEXPERIMENT=nogreenteagc $(GO) env GOEXPERIMENT >/dev/null 2>&1 && echo nogreenteagc)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/berth
	CGO_ENABLED=0 GOEXPERIMENT=$(INIT_GOEXPERIMENT) $(GO) build -trimpath -o $(INIT_BIN) ./cmd/berth-init

# Lessons, traces and build --explain run on every attendee's laptop; the
# engine verbs there say they need Linux. The wine test runs the .exe.
dist:
	@set -e; for t in $(DIST_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "dist/berth-$$os-$$arch$$ext"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/berth-$$os-$$arch$$ext ./cmd/berth; \
		if [ $$os = linux ]; then \
			echo "dist/berth-init-$$os-$$arch"; \
			CGO_ENABLED=0 GOEXPERIMENT=$(INIT_GOEXPERIMENT) GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -o dist/berth-init-$$os-$$arch ./cmd/berth-init; \
		fi; \
	done

# Install Debian packages, only the missing ones: $(1) is the list.
define install-debs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "not root: install$$missing yourself (apt-get install$$missing)"; fi; \
	fi
endef

test-deps:
	$(call install-debs,$(TEST_DEBS))
	@if [ "$$(id -u)" = 0 ]; then \
		id $(ROOTLESS_USER) >/dev/null 2>&1 || useradd -m -s /bin/sh $(ROOTLESS_USER); \
		grep -q '^$(ROOTLESS_USER):' /etc/subuid || echo '$(ROOTLESS_USER):100000:65536' >> /etc/subuid; \
		grep -q '^$(ROOTLESS_USER):' /etc/subgid || echo '$(ROOTLESS_USER):100000:65536' >> /etc/subgid; \
	fi

demo-deps:
	$(call install-debs,$(DEMO_DEBS))

# dist first: the cross-builds are part of the test, and the wine test
# (testscripts/wine_test.go) runs the Windows binary it made.
test: test-deps dist
	$(GO) vet ./...
	BERTH_WINDOWS_EXE=$(CURDIR)/dist/berth-windows-amd64.exe $(GO) test -count=1 -timeout 12m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@set -e; for t in $(LINT_TARGETS); do echo "vet $$t"; GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./...; done
	$(GO) run $(STATICCHECK) ./...

# Go benchmarks of the hot paths (benchstat-friendly), then whole-command
# comparisons with the peers that are installed (make bench-peers installs them).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./... | tee bench.txt
	./scripts/bench.sh

bench-peers:
	./scripts/bench-peers.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzApply -fuzztime 60s ./engine/layer
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./engine/dockerfile
	$(GO) test -run '^$$' -fuzz FuzzCacheKey -fuzztime 60s ./engine/build
	$(GO) test -run '^$$' -fuzz FuzzDecodeImageDocuments -fuzztime 60s -fuzzminimizetime 10s ./engine/store
	$(GO) test -run '^$$' -fuzz FuzzCheckLayer -fuzztime 60s -fuzzminimizetime 10s ./engine/store
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeIndex$$' -fuzztime 60s -fuzzminimizetime 10s ./engine/store
	$(GO) test -run '^$$' -fuzz '^FuzzScanIndex$$' -fuzztime 60s -fuzzminimizetime 10s ./engine/store
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeListedManifest$$' -fuzztime 60s -fuzzminimizetime 10s ./engine/store
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 60s -fuzzminimizetime 10s ./engine
	$(GO) test -run '^$$' -fuzz FuzzContainerCreate -fuzztime 60s -fuzzminimizetime 10s ./daemon
	$(GO) test -run '^$$' -fuzz FuzzBuildQuery -fuzztime 60s -fuzzminimizetime 10s ./daemon

demo: demo-deps build
	./scripts/demo.sh

# Re-record the traces the lessons replay (as root, on the real engine).
lessons-record: build
	BERTH=$(BIN) ./scripts/record-lessons.sh

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/berth
	install -D -m 0755 $(INIT_BIN) $(DESTDIR)$(PREFIX)/bin/berth-init

clean:
	rm -rf bin dist bench.txt
