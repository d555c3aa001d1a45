package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every berth process, `berth version` as much as `berth run`, runs the
// initializer of every package the binary links before main: what they
// allocate is heap the process must fault in, and what they compute is CPU
// spent before the verb starts (docs/performance.md, "Process start-up
// (CLI)"). These tests guard that structurally, from the allocation figures
// of GODEBUG=inittrace=1, which are exact and do not depend on the load.

// berthInitBudget is what the initializer of one of Berth's own packages
// may allocate (engine/dockerfile's keyword and flag tables, the largest
// today, take 7.4 KB). A package-level regexp.MustCompile costs 2-10 KB, a
// template more: use internal/lazyre or sync.OnceValue instead.
const berthInitBudget = 10 << 10

// berthTotalBudget bounds Berth's packages together (24 KB today).
const berthTotalBudget = 32 << 10

// berthInitExceptions are Berth's packages allowed more, with the reason
// (none today: engine/runtime's syscall table, 15.6 KB, is built on first
// use since the default seccomp filter is precompiled).
var berthInitExceptions = map[string]int{}

// totalInitBudget bounds what all initializers allocate together (the test
// binary's, which links berth's packages and the testing ones). It is ~870
// KB today, 414 KB of it distribution/reference's regexps (upstream's
// lazy-regexp change, distribution/reference#25, is not released yet):
// lower it when they go.
const totalInitBudget = 960 << 10

type initRecord struct {
	pkg    string
	bytes  int
	allocs int
}

// asBerthEnv makes this test binary berth itself (TestMain): main, and so
// everything berth runs, is reachable from it as from the real binary, and
// the linker keeps the same package-level maps the real one initializes.
const asBerthEnv = "BERTH_STARTUP_TEST_AS_BERTH"

func TestMain(m *testing.M) {
	if os.Getenv(asBerthEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// packageInits runs `berth version` (this test binary as berth) with
// GODEBUG=inittrace=1, and returns what each package's initializer
// allocated.
func packageInits(t *testing.T) []initRecord {
	t.Helper()
	cmd := exec.Command(os.Args[0], "version")
	cmd.Env = append(os.Environ(), asBerthEnv+"=1", "GODEBUG=inittrace=1", "BERTH_ROOT="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "berth version ") {
		t.Fatalf("the test binary as berth printed %q for berth version", stdout.String())
	}
	initLine := regexp.MustCompile(`^init (\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, (\d+) allocs$`)
	var out []initRecord
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		m := initLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		b, _ := strconv.Atoi(m[2])
		a, _ := strconv.Atoi(m[3])
		out = append(out, initRecord{pkg: m[1], bytes: b, allocs: a})
	}
	if len(out) < 50 {
		t.Fatalf("only %d inittrace lines: is GODEBUG=inittrace=1 still the format?\n%s", len(out), stderr.String())
	}
	return out
}

func TestPackageInitializersStaySmall(t *testing.T) {
	total, berthTotal := 0, 0
	sawBerth := false
	for _, r := range packageInits(t) {
		total += r.bytes
		if !strings.HasPrefix(r.pkg, "github.com/berthkit/berth/") {
			continue
		}
		sawBerth = true
		berthTotal += r.bytes
		budget, ok := berthInitExceptions[r.pkg]
		if !ok {
			budget = berthInitBudget
		}
		if r.bytes > budget {
			t.Errorf("%s allocates %d bytes (%d allocs) at start, over its %d: build package-level regexps, tables and templates on first use (internal/lazyre, sync.OnceValue)",
				r.pkg, r.bytes, r.allocs, budget)
		}
	}
	if !sawBerth {
		t.Error("no inittrace line for any of Berth's packages: does this test still link them?")
	}
	if berthTotal > berthTotalBudget {
		t.Errorf("Berth's own package initializers allocate %d bytes in all, over %d", berthTotal, berthTotalBudget)
	}
	if total > totalInitBudget {
		t.Errorf("the package initializers allocate %d bytes in all, over %d: GODEBUG=inittrace=1 berth version lists them by package", total, totalInitBudget)
	}
}

// testOnlyPackages must never be linked into berth: their initializers run
// in every berth process (net/http/httptest's builds a certificate and
// registers a flag), and they have no business in a release binary.
var testOnlyPackages = []string{
	"testing",
	"net/http/httptest",
	"github.com/stretchr/testify/",
	"github.com/rogpeppe/go-internal/testscript",
	"github.com/berthkit/berth/internal/testenv",
}

func TestBerthLinksNoTestPackages(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command to list berth's packages")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps listed only %d packages", len(deps))
	}
	for _, dep := range deps {
		for _, bad := range testOnlyPackages {
			if dep == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) {
				t.Errorf("berth links %s, a test-only package: its initializer runs at every start", dep)
			}
		}
	}
}

// deepInits compile regular expressions at start deep enough to grow the
// main goroutine's stack to 256 KB (internal/stackstart).
var deepInits = []string{
	"github.com/distribution/reference",
	"github.com/opencontainers/go-digest",
	"github.com/acarl005/stripansi",
}

// internal/stackstart sizes the main goroutine's stack in one step, which
// saves the seven doublings only if it runs before the initializers that
// need the stack: it imports nothing, so Go's import-path order puts it
// before `regexp` and everything that waits for it.
func TestStackStartsBeforeTheRegexps(t *testing.T) {
	const stackstart = "github.com/berthkit/berth/internal/stackstart"
	pos := map[string]int{}
	for i, r := range packageInits(t) {
		pos[r.pkg] = i
	}
	first, ok := pos[stackstart]
	if !ok {
		t.Fatalf("no inittrace line for %s: does cmd/berth still import it?", stackstart)
	}
	for _, pkg := range deepInits {
		if i, ok := pos[pkg]; ok && i < first {
			t.Errorf("%s is initialized before %s: the stack doubles on its way again", pkg, stackstart)
		}
	}
}
