package build

// Benchmarks of the builder's hot paths that run before any container does:
// the cache probe, a fully cached rebuild (every step a probe hit), and the
// context checksums COPY keys are made of.
//
//	go test -run '^$' -bench . -benchmem ./engine/build
//
// The cached rebuilds go through the tests' fakeBackend, so they measure the
// builder and the store, not containers; events are rendered by the console
// renderer into io.Discard, as `berth build` renders them to the terminal.
// scripts/bench.sh times the real `berth build` next to buildah.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// benchBackend is fakeBackend made usable from a benchmark: the fake's
// MountContainer needs a *testing.T, and its event buffer would grow with
// every iteration, so both are replaced.
type benchBackend struct {
	*fakeBackend
	tb  testing.TB
	rec trace.Recorder
}

func newBenchBackend(tb testing.TB) *benchBackend {
	tb.Helper()
	s, err := store.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	f := &fakeBackend{s: s, rec: &trace.Buffer{}, created: map[string]string{}, mounts: map[string]string{},
		images: map[string]digest.Digest{}, trees: map[digest.Digest]string{}}
	return &benchBackend{fakeBackend: f, tb: tb, rec: trace.NewStamper(trace.NewConsole(io.Discard, io.Discard))}
}

func (f *benchBackend) Emit(ev trace.Event) { f.rec.Record(ev) }

// MountContainer gives each container an empty directory, or a copy of the
// tree committed into its image, as the fake does.
func (f *benchBackend) MountContainer(ctx context.Context, id string) (string, func() error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if dir, ok := f.mounts[id]; ok {
		return dir, func() error { return nil }, nil
	}
	dir := filepath.Join(f.tb.TempDir(), "rootfs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	if parent, ok := f.trees[f.images[id]]; ok {
		if err := os.CopyFS(dir, os.DirFS(parent)); err != nil {
			return "", nil, err
		}
	}
	f.mounts[id] = dir
	return dir, func() error { return nil }, nil
}

// benchBase stores "busybox" as berthbench's base: no layers, busybox's config.
func benchBase(tb testing.TB, s *store.Store) *store.Image {
	tb.Helper()
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := ocispec.Image{Created: &created, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config: ocispec.ImageConfig{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, Cmd: []string{"sh"}},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}}}
	img, err := s.PutImage(cfg, nil, store.ImageOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Tag(img.ID, "busybox"); err != nil {
		tb.Fatal(err)
	}
	return img
}

// The Dockerfiles of bench/cmd/berthbench, so the Go figures and the
// whole-command figures describe the same builds.
var benchContexts = map[string]map[string]string{
	"3-steps": {"Dockerfile": "FROM busybox\nRUN echo hello > /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n"},
	"10-steps": {
		"Dockerfile": `FROM busybox
ENV APP_HOME=/app MODE=bench
WORKDIR /app
COPY app.sh /app/app.sh
RUN chmod +x /app/app.sh && echo built > /app/built.txt
ENV GREETING=hello
COPY config/ /etc/app/
RUN cat /etc/app/a.conf /etc/app/b.conf > /app/all.conf
RUN /app/app.sh > /app/out.txt
CMD ["/app/app.sh"]
`,
		"app.sh":        "#!/bin/sh\necho \"$GREETING from $MODE in $APP_HOME\"\n",
		"config/a.conf": "a = 1\n",
		"config/b.conf": "b = 2\n",
	},
}

func writeBenchContext(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// BenchmarkCachedRebuild is `berth build` of an unchanged Dockerfile whose
// every step is in the cache: parse, context walk and checksums, one probe
// per step, console rendering. The goal for 10 steps is under 20 ms
// for the whole command; this is the part that is not process start-up.
func BenchmarkCachedRebuild(b *testing.B) {
	for _, name := range []string{"3-steps", "10-steps"} {
		b.Run(name, func(b *testing.B) {
			f := newBenchBackend(b)
			benchBase(b, f.s)
			dir := writeBenchContext(b, benchContexts[name])
			opts := Options{ContextDir: dir, Remove: true}
			first, err := Build(context.Background(), f, opts)
			if err != nil {
				b.Fatal(err)
			}
			var res *Result
			for b.Loop() {
				res, err = Build(context.Background(), f, opts)
				if err != nil {
					b.Fatal(err)
				}
			}
			if res.ImageID != first.ImageID || res.Cached != len(res.Steps)-1 || res.Ran != 0 {
				b.Fatalf("rebuild was not fully cached: %d of %d steps cached, %d ran, image %s (first build %s)",
					res.Cached, len(res.Steps)-1, res.Ran, res.ImageID, first.ImageID)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(res.Steps)), "ns/step")
		})
	}
}

// BenchmarkCacheProbe is one step's cache lookup on its own: a hit (the
// entry read from the store's cache directory, its image looked up), and
// two misses whose reasons need different work (nothing built on the
// parent yet; the instruction changed, which reads every entry on the
// parent to say what was built instead). A new process starts with no
// images resolved, so the builder's image map is emptied every time.
func BenchmarkCacheProbe(b *testing.B) {
	f := newBenchBackend(b)
	base := benchBase(b, f.s)
	// Twenty different RUN steps built on base before, as a busy store has.
	for i := range 20 {
		now := time.Date(2024, 1, 2, 0, 0, i, 0, time.UTC)
		cfg := base.Config
		cfg.Created = &now
		cfg.History = append(append([]ocispec.History{}, cfg.History...), ocispec.History{Created: &now, CreatedBy: fmt.Sprintf("/bin/sh -c echo %d", i), EmptyLayer: true})
		img, err := f.s.PutImage(cfg, nil, store.ImageOptions{Parent: base.ID})
		if err != nil {
			b.Fatal(err)
		}
		if err := f.s.CachePut(store.CacheEntry{Parent: base.ID, Key: fmt.Sprintf("/bin/sh -c echo %d", i), Image: img.ID, Original: fmt.Sprintf("RUN echo %d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	scratchParent := newBenchBackend(b)
	cases := []struct {
		name, key string
		backend   *benchBackend
		image     *store.Image
		want      string
	}{
		{"hit", "/bin/sh -c echo 7", f, base, ReasonHit},
		{"miss-instruction-changed", "/bin/sh -c echo changed", f, base, ReasonInstructionChanged},
		{"miss-nothing-built-on-parent", "/bin/sh -c echo 7", scratchParent, benchBase(b, scratchParent.s), ReasonNewInstruction},
	}
	ins := &dockerfile.Instruction{Keyword: "RUN", Original: "RUN echo 7"}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			bl := &Builder{backend: tc.backend, store: tc.backend.s, id: "bench", images: map[digest.Digest]*store.Image{}}
			var res StepResult
			for b.Loop() {
				bl.images = map[digest.Digest]*store.Image{}
				s := &stageState{image: tc.image, config: tc.image.Config}
				res = StepResult{}
				bl.probe(s, ins, tc.key, nil, &res)
			}
			if res.Reason != tc.want {
				b.Fatalf("probe reason %q, want %q (%s)", res.Reason, tc.want, res.Explanation)
			}
		})
	}
}

// BenchmarkContextChecksum is what a COPY's cache key costs before the
// probe: walking the context (with .dockerignore) and checksumming the
// sources, as a new process does it (nothing memoised).
func BenchmarkContextChecksum(b *testing.B) {
	shapes := []struct {
		name      string
		files     int
		fileBytes int
	}{
		{"10-steps-context", 0, 0},
		{"1000-files-8MiB", 1000, 8 << 10},
	}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			files := benchContexts["10-steps"]
			if shape.files > 0 {
				files = map[string]string{"Dockerfile": "FROM busybox\nCOPY . /app/\n", ".dockerignore": "*.tmp\n"}
				body := strings.Repeat("x", shape.fileBytes-1) + "\n"
				for i := range shape.files {
					files[fmt.Sprintf("src/pkg%02d/file%04d.go", i%40, i)] = body
				}
			}
			dir := writeBenchContext(b, files)
			var total int64
			for _, content := range files {
				total += int64(len(content))
			}
			b.SetBytes(total)
			var sum string
			for b.Loop() {
				c, err := LoadContext(dir, "Dockerfile")
				if err != nil {
					b.Fatal(err)
				}
				if sum, err = c.Checksum("."); err != nil {
					b.Fatal(err)
				}
			}
			c, _ := LoadContext(dir, "Dockerfile")
			if again, _ := c.Checksum("."); again != sum || len(sum) != 64 {
				b.Fatalf("checksum of an unchanged context changed: %q then %q", sum, again)
			}
		})
	}
}

// BenchmarkBuildManyEnv is a Dockerfile of nothing but ENV lines, built
// with --no-cache: each step stores a config that holds every step before
// it, so what must stay linear is everything else (index.json rewrites,
// lookups, copies, memory kept). ns/step should barely move from 500 to
// 2,000 steps; before the batch index and the hand-made config copies it
// tripled. The real `berth build` of 2,000 and 5,000 lines is measured in
// docs/performance.md.
func BenchmarkBuildManyEnv(b *testing.B) {
	for _, steps := range []int{500, 2000} {
		b.Run(fmt.Sprintf("%d-steps", steps), func(b *testing.B) {
			var df strings.Builder
			df.WriteString("FROM busybox\n")
			for i := range steps {
				fmt.Fprintf(&df, "ENV V%d=value%d\n", i, i)
			}
			f := newBenchBackend(b)
			benchBase(b, f.s)
			dir := writeBenchContext(b, map[string]string{"Dockerfile": df.String()})
			opts := Options{ContextDir: dir, Remove: true, NoCache: true}
			var res *Result
			var err error
			for b.Loop() {
				if res, err = Build(context.Background(), f, opts); err != nil {
					b.Fatal(err)
				}
			}
			if got := len(res.Image.Config.Config.Env); got != steps+1 {
				b.Fatalf("image has %d env entries, want %d", got, steps+1)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(steps), "ns/step")
		})
	}
}
