package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// fakeBackend runs nothing: RUN "succeeds" unless the command contains
// "exit N", and commits become images with no layers. It is enough to test
// the builder's dispatch and cache rules without root.
type fakeBackend struct {
	s       *store.Store
	rec     *trace.Buffer
	mu      sync.Mutex
	runs    []string
	created map[string]string // id → purpose
	removed []string
	mounts  map[string]string        // container → rootfs dir
	images  map[string]digest.Digest // container → image it was created from
	trees   map[digest.Digest]string // image → rootfs dir of the container committed into it
	// moreRuns is ContainerRequest.MoreRuns of each RUN container, in order.
	moreRuns []bool
	t        *testing.T
}

func newFake(t *testing.T) *fakeBackend {
	s, err := store.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return &fakeBackend{s: s, rec: &trace.Buffer{}, created: map[string]string{}, mounts: map[string]string{},
		images: map[string]digest.Digest{}, trees: map[digest.Digest]string{}, t: t}
}

func (f *fakeBackend) Store() *store.Store { return f.s }
func (f *fakeBackend) Emit(ev trace.Event) { f.rec.Record(ev) }
func (f *fakeBackend) Pull(ctx context.Context, name string, w io.Writer) (*store.Image, error) {
	return nil, fmt.Errorf("pull access denied for %s: no registry in this test: %w", name, store.ErrNotFound)
}
func (f *fakeBackend) CreateContainer(ctx context.Context, req ContainerRequest) (string, error) {
	id := store.RandomID()
	f.mu.Lock()
	f.created[id] = req.Purpose
	f.images[id] = req.Image
	if req.Purpose == "build" && !req.NeverStarts {
		f.moreRuns = append(f.moreRuns, req.MoreRuns)
	}
	f.mu.Unlock()
	f.emit(ctx, trace.Event{Type: trace.ContainerCreate, Container: &trace.ContainerInfo{ID: id, Purpose: req.Purpose, Cmd: req.Cmd}})
	return id, nil
}
func (f *fakeBackend) RunContainer(ctx context.Context, id string, out, errOut io.Writer) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, id)
	fmt.Fprintf(out, "ran %s\n", id[:12])
	return 0, nil
}
func (f *fakeBackend) MountContainer(ctx context.Context, id string) (string, func() error, error) {
	if dir, ok := f.mounts[id]; ok {
		return dir, func() error { return nil }, nil
	}
	dir := filepath.Join(f.t.TempDir(), "rootfs")
	require.NoError(f.t, os.MkdirAll(dir, 0o755))
	if parent, ok := f.trees[f.images[id]]; ok {
		require.NoError(f.t, os.CopyFS(dir, os.DirFS(parent)))
	}
	f.mounts[id] = dir
	return dir, func() error { return nil }, nil
}
func (f *fakeBackend) CommitContainer(ctx context.Context, id string, req CommitRequest) (*store.Image, error) {
	cfg := req.Config
	now := time.Now().UTC()
	cfg.Created = &now
	cfg.History = slices.Clip(append(cfg.History, ocispec.History{Created: &now, CreatedBy: req.CreatedBy, EmptyLayer: true}))
	var layers []ocispec.Descriptor
	opts := store.ImageOptions{Ext: req.Ext}
	if req.Parent != nil {
		layers = req.Parent.Manifest.Layers
		opts.Parent = req.Parent.ID
	}
	img, err := f.s.PutImage(cfg, layers, opts)
	if err == nil {
		if dir, ok := f.mounts[id]; ok {
			f.trees[img.ID] = dir
		} else if parent, ok := f.trees[f.images[id]]; ok {
			f.trees[img.ID] = parent
		}
	}
	return img, err
}

// emit fills Build and Step from the context's scope, as the engine does.
func (f *fakeBackend) emit(ctx context.Context, ev trace.Event) {
	if s, ok := trace.ScopeFrom(ctx); ok {
		s.Apply(&ev)
	}
	f.rec.Record(ev)
}
func (f *fakeBackend) RemoveContainer(ctx context.Context, id string) error {
	f.removed = append(f.removed, id)
	f.emit(ctx, trace.Event{Type: trace.ContainerRemove, Container: &trace.ContainerInfo{ID: id, Purpose: f.created[id]}})
	return nil
}

// base stores a tiny "alpine" image with no layers.
func (f *fakeBackend) base(t *testing.T, name string) *store.Image {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := ocispec.Image{Created: &now, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config: ocispec.ImageConfig{Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/sh"}},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}}}
	img, err := f.s.PutImage(cfg, nil, store.ImageOptions{})
	require.NoError(t, err)
	_, err = f.s.Tag(img.ID, name)
	require.NoError(t, err)
	return img
}

func writeContext(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func build(t *testing.T, f *fakeBackend, dir string, opts Options) *Result {
	t.Helper()
	opts.ContextDir = dir
	opts.Remove = true
	res, err := Build(context.Background(), f, opts)
	require.NoError(t, err)
	return res
}

func cachedSteps(res *Result) []bool {
	var out []bool
	for _, s := range res.Steps {
		out = append(out, s.Cached)
	}
	return out
}

const redisDockerfile = "FROM alpine\nRUN apk add --update redis\nCMD [\"redis-server\"]\n"

// The notes' "Rebuilds with Cache" walkthrough, step by step.
func TestRebuildsWithCacheWalkthrough(t *testing.T) {
	f := newFake(t)
	alpine := f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": redisDockerfile})

	// Build 1: every step runs.
	first := build(t, f, dir, Options{Tags: []string{"rommelrico/redis:latest"}})
	require.Equal(t, []bool{false, false, false}, cachedSteps(first))
	require.Equal(t, alpine.ID, first.Steps[0].Image)
	require.Len(t, f.runs, 1, "only RUN starts its container")
	img, err := f.s.Image("rommelrico/redis:latest")
	require.NoError(t, err)
	require.Equal(t, first.ImageID, img.ID)
	require.Equal(t, []string{"redis-server"}, img.Config.Config.Cmd)
	last := img.Config.History[len(img.Config.History)-1]
	require.Equal(t, `/bin/sh -c #(nop)  CMD ["redis-server"]`, last.CreatedBy)
	require.True(t, last.EmptyLayer)

	// Add "RUN apk add --update gcc" after the install: step 2 cached, 3 and 4 run.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"),
		[]byte("FROM alpine\nRUN apk add --update redis\nRUN apk add --update gcc\nCMD [\"redis-server\"]\n"), 0o644))
	f.rec = &trace.Buffer{}
	second := build(t, f, dir, Options{})
	require.Equal(t, []bool{false, true, false, false}, cachedSteps(second))
	probes := f.rec.OfType(trace.CacheProbe)
	require.Len(t, probes, 3)
	require.Equal(t, ReasonHit, probes[0].Cache.Reason)
	require.Equal(t, first.Steps[1].Image.String(), probes[0].Cache.Image)
	require.Equal(t, ReasonInstructionChanged, probes[1].Cache.Reason)
	require.Equal(t, `CMD ["redis-server"]`, probes[1].Cache.Previous)
	require.Contains(t, probes[1].Cache.Explanation, "RUN apk add --update gcc")
	require.Equal(t, ReasonEarlierMiss, probes[2].Cache.Reason)
	require.Contains(t, probes[2].Cache.Explanation, "step 3 ran")

	// Build 3: all cached, same image.
	third := build(t, f, dir, Options{})
	require.Equal(t, []bool{false, true, true, true}, cachedSteps(third))
	require.Equal(t, second.ImageID, third.ImageID)

	// Moving a line up reruns everything after it.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"),
		[]byte("FROM alpine\nRUN apk add --update gcc\nRUN apk add --update redis\nCMD [\"redis-server\"]\n"), 0o644))
	fourth := build(t, f, dir, Options{})
	require.Equal(t, []bool{false, false, false, false}, cachedSteps(fourth))
}

func TestConsoleOutputIsDockers(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": redisDockerfile})
	var out strings.Builder
	console := trace.NewConsole(&out, io.Discard)
	f.rec = &trace.Buffer{}
	res := build(t, f, dir, Options{Tags: []string{"rommelrico/redis:latest"}})
	for _, ev := range f.rec.Events() {
		console.Record(ev)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, "Sending build context to Berth engine  2.048kB", lines[0])
	require.Equal(t, "Step 1/3 : FROM alpine", lines[1])
	require.Equal(t, "Step 2/3 : RUN apk add --update redis", lines[3])
	require.True(t, strings.HasPrefix(lines[4], " ---> Running in "))
	require.True(t, strings.HasPrefix(lines[5], "ran "))
	require.True(t, strings.HasPrefix(lines[6], "Removing intermediate container "))
	require.Equal(t, "Step 3/3 : CMD [\"redis-server\"]", lines[8])
	require.Equal(t, "Successfully built "+res.ImageID.Encoded()[:12], lines[len(lines)-2])
	require.Equal(t, "Successfully tagged rommelrico/redis:latest", lines[len(lines)-1])
}

func TestCopyCacheFollowsContentNotMtime(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM alpine\nCOPY app.py /app/\nCMD [\"python\", \"/app/app.py\"]\n",
		"app.py":     "print('hello')\n",
	})
	first := build(t, f, dir, Options{})
	copied, err := os.ReadFile(filepath.Join(f.mounts[lastMount(f)], "app", "app.py"))
	require.NoError(t, err)
	require.Equal(t, "print('hello')\n", string(copied))

	// touch: same content, new mtime → cached.
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "app.py"), later, later))
	second := build(t, f, dir, Options{})
	require.Equal(t, []bool{false, true, true}, cachedSteps(second))
	require.Equal(t, first.ImageID, second.ImageID)

	// Changed content → miss naming the file.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.py"), []byte("print('bye')\n"), 0o644))
	f.rec = &trace.Buffer{}
	third := build(t, f, dir, Options{})
	require.Equal(t, []bool{false, false, false}, cachedSteps(third))
	probe := f.rec.OfType(trace.CacheProbe)[0].Cache
	require.Equal(t, ReasonSourceChanged, probe.Reason)
	require.Equal(t, []string{"app.py"}, probe.Files)
}

func lastMount(f *fakeBackend) string {
	var last string
	for id := range f.mounts {
		last = id
	}
	return last
}

func TestBuildArgsChangeRunKey(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine\nARG VERSION=1\nRUN echo $VERSION\n"})
	first := build(t, f, dir, Options{})
	img, err := f.s.Image(first.ImageID.String())
	require.NoError(t, err)
	require.Equal(t, "|1 VERSION=1 /bin/sh -c echo $VERSION", img.Config.History[len(img.Config.History)-1].CreatedBy)
	two := "2"
	second := build(t, f, dir, Options{BuildArgs: map[string]*string{"VERSION": &two}})
	require.Equal(t, []bool{false, true, false}, cachedSteps(second), "ARG step is the same text; RUN's key has the new value")
	again := build(t, f, dir, Options{BuildArgs: map[string]*string{"VERSION": &two}})
	require.Equal(t, []bool{false, true, true}, cachedSteps(again))
}

func TestEnvChangesLaterKeys(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine\nENV A=1\nRUN echo $A\n"})
	build(t, f, dir, Options{})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM alpine\nENV A=2\nRUN echo $A\n"), 0o644))
	f.rec = &trace.Buffer{}
	res := build(t, f, dir, Options{})
	require.Equal(t, []bool{false, false, false}, cachedSteps(res))
	probes := f.rec.OfType(trace.CacheProbe)
	require.Equal(t, ReasonInstructionChanged, probes[0].Cache.Reason)
	require.Equal(t, "ENV A=1", probes[0].Cache.Previous)
	require.Equal(t, ReasonEarlierMiss, probes[1].Cache.Reason)
}

// Docker expands every pair of one ENV against the environment from before
// the instruction (the Dockerfile reference's abc/def/ghi example).
func TestEnvPairsSeeTheEarlierEnvironment(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n"})
	res := build(t, f, dir, Options{})
	img, err := f.s.Image(res.ImageID.String())
	require.NoError(t, err)
	env := img.Config.Config.Env
	require.Contains(t, env, "abc=bye")
	require.Contains(t, env, "def=hello", "def is expanded before abc changes")
	require.Contains(t, env, "ghi=bye", "a later ENV sees the new value")
	require.Equal(t, "/bin/sh -c #(nop)  ENV abc=bye def=hello", img.Config.History[len(img.Config.History)-2].CreatedBy)
}

func TestMultiStageCopyFrom(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM alpine AS builder\nCOPY main.c /src/\nFROM alpine\nCOPY --from=builder /src/main.c /out/\n",
		"main.c":     "int main(){}\n",
	})
	res := build(t, f, dir, Options{})
	require.Len(t, res.Steps, 4)
	again := build(t, f, dir, Options{})
	require.Equal(t, []bool{false, true, false, true}, cachedSteps(again))
}

func TestNoCacheAndExplain(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": redisDockerfile})
	build(t, f, dir, Options{})
	res := build(t, f, dir, Options{NoCache: true})
	require.Equal(t, []bool{false, false, false}, cachedSteps(res))

	// Explain: nothing runs, every step says why.
	runs := len(f.runs)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"),
		[]byte("FROM alpine\nRUN apk add --update redis\nRUN apk add --update gcc\nCMD [\"redis-server\"]\n"), 0o644))
	plan := build(t, f, dir, Options{Explain: true})
	require.Equal(t, runs, len(f.runs), "explain must not run anything")
	require.Equal(t, []bool{false, true, false, false}, cachedSteps(plan))
	require.True(t, plan.Steps[2].WouldRun)
	require.Equal(t, ReasonInstructionChanged, plan.Steps[2].Reason)
	require.Equal(t, ReasonEarlierMiss, plan.Steps[3].Reason)
}

func TestBadInput(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	cases := []struct {
		name, dockerfile, want string
	}{
		{"unknown instruction", "FROM alpine\nRUNN x\n", "Dockerfile:2: unknown instruction: RUNN"},
		{"missing source", "FROM alpine\nCOPY nope.txt /\n", "file not found in build context"},
		{"outside context", "FROM alpine\nCOPY ../secret /\n", "forbidden path outside the build context"},
		{"unknown base", "FROM nosuchimage\n", "nosuchimage"},
		{"several sources need a dir", "FROM alpine\nCOPY a b /dest\n", "must be a directory and end with a /"},
		{"expanded stop signal", "FROM alpine\nARG SIG=FOO\nSTOPSIGNAL $SIG\n", "Dockerfile:3: Invalid signal: FOO"},
		{"expanded port", "FROM alpine\nARG PORTS=\"80 8o\"\nEXPOSE $PORTS\n", "Dockerfile:3: invalid containerPort: 8o"},
		{"expanded proto", "FROM alpine\nENV P=80/ftp\nEXPOSE ${P}\n", "Dockerfile:3: invalid proto: ftp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeContext(t, map[string]string{"Dockerfile": tc.dockerfile, "a": "a", "b": "b"})
			_, err := Build(context.Background(), f, Options{ContextDir: dir, Remove: true})
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := Build(context.Background(), f, Options{ContextDir: t.TempDir()})
	require.ErrorContains(t, err, "Cannot locate specified Dockerfile: Dockerfile")
}

func TestTraceEventsOfARunStep(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": redisDockerfile})
	build(t, f, dir, Options{})
	var types []trace.Type
	for _, ev := range f.rec.Events() {
		if ev.Step == 2 {
			types = append(types, ev.Type)
		}
	}
	require.Equal(t, []trace.Type{trace.StepStart, trace.CacheProbe, trace.ContainerCreate, trace.Output, trace.ContainerRemove, trace.StepEnd}, types)
	start := f.rec.OfType(trace.BuildStart)[0].BuildStartInfo
	require.Equal(t, 3, start.Steps)
	require.Equal(t, int64(2048), start.ContextBytes)
}
