package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ContainerRequest asks the backend for an intermediate container.
type ContainerRequest struct {
	Image      digest.Digest // the parent image; "" for scratch
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	Network    string // "" or "default" (the default bridge), "host" or "none"
	// Purpose is "build" for RUN and metadata steps (the console prints
	// "Running in"), "copy" for COPY and ADD.
	Purpose string
	// Step numbers the container for the trace.
	Step int
	// NeverStarts marks containers that are only mounted and committed.
	NeverStarts bool
	// Parent is the image named by Image, as the builder already has it, so
	// the backend need not look it up again (nil: look it up).
	Parent *store.Image
	// MetadataOnly marks the container of a metadata step that is removed
	// right after its commit: nobody ever mounts or starts it, so the
	// backend may skip preparing its filesystem.
	MetadataOnly bool
	// MoreRuns says a RUN step follows this RUN step's in the build: the
	// backend may start that step's container's init ahead while this one
	// runs (runtime.Spec.SpareNext).
	MoreRuns bool
}

// CommitRequest asks the backend to save a container as an image.
type CommitRequest struct {
	// Config is the new image's config without the new layer and history
	// entry: those the commit adds. Its History has room past its length
	// that is the commit's to append the new entry into; the image gets
	// the result clipped (cap = len), so nobody else appends into it.
	Config ocispec.Image
	Ext    store.ExtConfig
	// Parent is the image the container was created from.
	Parent *store.Image
	// CreatedBy and Comment make the history entry.
	CreatedBy string
	Comment   string
	// NoLayer says the container never started and nothing was written, so
	// no snapshot is taken and the history entry is empty_layer.
	NoLayer bool
	Step    int
}

// Backend is what the builder needs from the engine.
type Backend interface {
	Store() *store.Store
	Emit(trace.Event)
	// Pull fetches an image that is not in the store, writing Docker's pull
	// lines to progress.
	Pull(ctx context.Context, name string, progress io.Writer) (*store.Image, error)
	CreateContainer(ctx context.Context, req ContainerRequest) (id string, err error)
	// RunContainer starts the container, waits for it and returns its exit code.
	RunContainer(ctx context.Context, id string, stdout, stderr io.Writer) (int, error)
	// MountContainer mounts the container's root filesystem without starting it.
	MountContainer(ctx context.Context, id string) (rootfs string, unmount func() error, err error)
	CommitContainer(ctx context.Context, id string, req CommitRequest) (*store.Image, error)
	RemoveContainer(ctx context.Context, id string) error
}

// Options are `berth build`'s flags.
type Options struct {
	// ContextDir is the build context; "" means none (Dockerfile from stdin).
	ContextDir string
	// Dockerfile is the Dockerfile's path: relative to ContextDir, or
	// absolute. Default "Dockerfile".
	Dockerfile string
	// DockerfileContent, when set, is used instead of reading Dockerfile.
	DockerfileContent []byte
	Tags              []string
	// BuildArgs are --build-arg values; a nil value means "take it from the
	// environment" (--build-arg FOO).
	BuildArgs map[string]*string
	Target    string
	Labels    map[string]string
	NoCache   bool
	// Remove removes intermediate containers (default true); ForceRemove
	// removes them even when a step fails. Unlike Docker's classic builder,
	// which keeps the failed step's container unless --force-rm, Berth
	// removes it whenever Remove is set, so a failed build leaves nothing
	// behind; --rm=false keeps every intermediate container, as Docker.
	Remove      bool
	ForceRemove bool
	Network     string
	// Explain plans the build without running anything: each step is
	// reported as cached or as would-run with the reason.
	Explain bool
	// Progress receives pull progress lines (FROM of a missing base).
	Progress io.Writer
	// Platform is --platform: "" or the host's platform (linux/<GOARCH>);
	// any other is refused, since berth builds only for the host.
	Platform string
	// Pull always pulls the base images of FROM lines (--pull), even when
	// they are in the store, as Docker does.
	Pull bool
	// EngineName names the producer in the trace ("berth 0.1.0").
	EngineName string
	// Exclude lists files left out of the context as if .dockerignore named
	// them: absolute or relative to the working directory. The CLI puts its
	// --trace and --iidfile here, so a build that writes its trace inside
	// the context does not bust its own cache on the next run.
	Exclude []string
}

// StepResult is what one step did.
type StepResult struct {
	Number      int
	Original    string
	Instruction string
	Cached      bool
	Image       digest.Digest
	// Reason and Explanation come from the cache probe ("" for FROM).
	Reason      string
	Explanation string
	// WouldRun is set in Explain mode for steps that would execute.
	WouldRun bool
	// Meta marks an ARG before the first FROM: Docker prints and counts it
	// as a step, but it builds nothing.
	Meta bool
}

// Result is what a build produced.
type Result struct {
	BuildID string
	ImageID digest.Digest
	Image   *store.Image
	Steps   []StepResult
	Cached  int
	Ran     int
	Tags    []string
}

// StepError is a failed step. Its message is Docker's ("The command
// '/bin/sh -c exit 3' returned a non-zero code: 3").
type StepError struct {
	Step     int
	ExitCode int // the command's exit code for a failed RUN, else 0
	Err      error
}

func (e *StepError) Error() string { return e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Builder runs one build. Use Build.
type Builder struct {
	backend Backend
	store   *store.Store
	opts    Options
	df      *dockerfile.Dockerfile
	ctxt    *Context
	id      string

	images map[digest.Digest]*store.Image
	stages []*stageState
	// noExpand holds the LABEL steps --label adds: their values are taken
	// literally, as Docker's classic builder does (NewLabelCommand's NoExp).
	noExpand map[*dockerfile.Instruction]bool
	// labels are BuildKit's vertex names of the steps it shows (see
	// vertexLabels), for --progress=plain.
	labels     map[*dockerfile.Instruction]string
	total      int
	step       int
	lastRun    int // the step number of the last RUN instruction
	result     *Result
	unusedArgs map[string]bool
	// cacheWrite is the cache entry being written, if any (putCache).
	cacheWrite *cacheWrite
}

// Build parses the Dockerfile, runs every step and tags the result.
func Build(ctx context.Context, backend Backend, opts Options) (*Result, error) {
	b := &Builder{backend: backend, store: backend.Store(), opts: opts, id: store.RandomID(),
		images: map[digest.Digest]*store.Image{}, unusedArgs: map[string]bool{},
		noExpand: map[*dockerfile.Instruction]bool{}}
	ctx = trace.WithScope(ctx, trace.Scope{Build: b.id})
	return b.run(ctx)
}

func (b *Builder) emit(ev trace.Event) {
	ev.Build = b.id
	if ev.Step == 0 {
		ev.Step = b.step
	}
	b.backend.Emit(ev)
}

func (b *Builder) warn(text string) {
	b.emit(trace.Event{Type: trace.Message, Message: &trace.MessageInfo{Level: "warning", Text: text}})
}

// run is a build: read the context and the Dockerfile, run the stages
// step by step between the build's start and end events, tag the last
// image.
func (b *Builder) run(ctx context.Context) (res *Result, err error) {
	start := time.Now()
	stages, err := b.prepare()
	if err != nil {
		return nil, err
	}
	b.result = &Result{BuildID: b.id}
	b.emitStart()
	defer func() {
		end := &trace.BuildEndInfo{DurationMS: time.Since(start).Milliseconds(), Cached: b.result.Cached, Ran: b.result.Ran}
		if err != nil {
			end.Error = err.Error()
			end.ExitCode = 1
		} else {
			end.Image = res.ImageID.String()
		}
		b.step = 0
		b.emit(trace.Event{Type: trace.BuildEnd, BuildEndInfo: end})
	}()

	// One image per step: list them in index.json in batches, not one
	// rewrite of the whole index per step.
	endBatch := b.store.BeginBatch()
	defer func() {
		if flushErr := endBatch(); flushErr != nil && err == nil {
			res, err = nil, fmt.Errorf("save the build's images: %w", flushErr)
		}
	}()
	last, err := b.runStages(ctx, stages)
	if werr := b.waitCache(); err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	return b.finish(last)
}

// prepare loads the context and the Dockerfile, checks the options and
// counts the steps of the stages to build.
func (b *Builder) prepare() ([]*dockerfile.Stage, error) {
	if err := b.load(); err != nil {
		return nil, err
	}
	for _, t := range b.opts.Tags {
		if _, err := store.ParseTag(t); err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"-t, --tag\" flag: %w", t, err)
		}
	}
	stages, err := b.selectStages()
	if err != nil {
		return nil, err
	}
	if err := checkPlatform(b.opts.Platform, "--platform"); err != nil {
		return nil, err
	}
	// Docker's classic builder counts the ARGs before the first FROM as
	// steps (builder.go, dispatchDockerfileWithCancellation: totalCommands).
	b.total = len(b.df.MetaArgs)
	for _, st := range stages {
		b.total++ // FROM
		for _, ins := range st.Instructions {
			b.total++
			if ins.Keyword == "RUN" {
				b.lastRun = b.total
			}
		}
	}
	return stages, nil
}

// emitStart records the build's start and the Dockerfile's warnings.
func (b *Builder) emitStart() {
	args := map[string]string{}
	for k, v := range b.resolvedBuildArgs() {
		args[k] = v
		b.unusedArgs[k] = true
	}
	b.emit(trace.Event{Type: trace.BuildStart, BuildStartInfo: &trace.BuildStartInfo{
		Context:      b.contextName(),
		Dockerfile:   b.dockerfileName(),
		ContextBytes: b.ctxt.TarSize,
		ContextFiles: len(b.ctxt.Files),
		Steps:        b.total,
		Tags:         b.opts.Tags,
		NoCache:      b.opts.NoCache,
		BuildArgs:    args,
		Target:       b.opts.Target,
		Engine:       b.opts.EngineName,
	}})
	for _, w := range b.df.Warnings {
		b.warn("[WARNING]: " + w)
	}
}

// runStages runs the ARGs before the first FROM and then every stage; it
// returns the last stage.
func (b *Builder) runStages(ctx context.Context, stages []*dockerfile.Stage) (*stageState, error) {
	b.labels = b.vertexLabels(stages)
	for _, ins := range b.df.MetaArgs {
		b.metaArgStep(ins)
	}
	var last *stageState
	for _, st := range stages {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("build interrupted: %w", err)
		}
		s, err := b.runStage(ctx, st)
		if err != nil {
			return nil, err
		}
		last = s
	}
	if len(b.unusedArgs) > 0 {
		var names []string
		for k := range b.unusedArgs {
			names = append(names, k)
		}
		sort.Strings(names)
		b.warn(fmt.Sprintf("[Warning] One or more build-args [%s] were not consumed", strings.Join(names, " ")))
	}
	return last, nil
}

// finish takes the last stage's image as the result and tags it.
func (b *Builder) finish(last *stageState) (*Result, error) {
	if b.opts.Explain {
		b.result.ImageID = last.parentID()
		return b.result, nil
	}
	if last.image == nil {
		return nil, errors.New("no image was generated. Is your Dockerfile empty?")
	}
	b.result.ImageID = last.image.ID
	b.result.Image = last.image
	for _, t := range b.opts.Tags {
		ref, _ := store.ParseTag(t)
		if _, err := b.store.Tag(last.image.ID, ref.String()); err != nil {
			return nil, fmt.Errorf("tag %s: %w", t, err)
		}
		b.result.Tags = append(b.result.Tags, store.Familiar(ref.String()))
		b.step = 0
		b.emit(trace.Event{Type: trace.Tag, Tag: &trace.TagInfo{Image: last.image.ID.String(), Ref: store.Familiar(ref.String())}})
	}
	return b.result, nil
}

func (b *Builder) contextName() string {
	if b.opts.ContextDir == "" {
		return "-"
	}
	return b.opts.ContextDir
}

func (b *Builder) dockerfileName() string {
	if b.opts.Dockerfile == "" {
		return "Dockerfile"
	}
	return b.opts.Dockerfile
}

// load reads the context and parses the Dockerfile.
func (b *Builder) load() error {
	var err error
	b.ctxt, err = LoadContext(b.opts.ContextDir, b.dockerfileName(), b.opts.Exclude...)
	if err != nil {
		return err
	}
	content := b.opts.DockerfileContent
	name := filepath.Base(b.dockerfileName())
	if content == nil {
		path := b.dockerfileName()
		if !filepath.IsAbs(path) && b.opts.ContextDir != "" {
			path = filepath.Join(b.opts.ContextDir, path)
		}
		content, err = os.ReadFile(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("Cannot locate specified Dockerfile: %s", b.dockerfileName())
			}
			return fmt.Errorf("read Dockerfile: %w", err)
		}
	}
	b.df, err = dockerfile.Parse(strings.NewReader(string(content)), name)
	if err != nil {
		return err
	}
	if len(b.opts.Labels) > 0 {
		b.addLabelSteps()
	}
	return nil
}

// selectStages returns the stages to build: all of them, or up to --target.
func (b *Builder) selectStages() ([]*dockerfile.Stage, error) {
	if b.opts.Target == "" {
		return b.df.Stages, nil
	}
	target := strings.ToLower(b.opts.Target)
	for i, st := range b.df.Stages {
		if st.Name == target {
			return b.df.Stages[:i+1], nil
		}
	}
	// moby's wording since Docker 25 (builder.go, build); before, it was
	// "failed to reach build target %s in Dockerfile".
	return nil, fmt.Errorf("target stage %q could not be found", b.opts.Target)
}

// addLabelSteps appends --label as LABEL steps to the stage that is built
// last, one step per label in key order, as Docker's classic builder does
// (builder.go, buildLabelOptions).
func (b *Builder) addLabelSteps() {
	keys := make([]string, 0, len(b.opts.Labels))
	for k := range b.opts.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	target := b.df.Stages[len(b.df.Stages)-1]
	if b.opts.Target != "" {
		for _, st := range b.df.Stages {
			if st.Name == strings.ToLower(b.opts.Target) {
				target = st
			}
		}
	}
	for _, k := range keys {
		kv := dockerfile.KV{Key: k, Value: b.opts.Labels[k], HasValue: true}
		ins := &dockerfile.Instruction{Keyword: "LABEL", KeyValues: []dockerfile.KV{kv},
			Original: "LABEL " + k + "=" + kv.Value}
		b.noExpand[ins] = true
		target.Instructions = append(target.Instructions, ins)
	}
}

// metaArgStep shows an ARG before the first FROM as a step: Docker prints
// "Step 1/4 : ARG VERSION=1" and nothing else for it.
func (b *Builder) metaArgStep(ins *dockerfile.Instruction) {
	b.step++
	b.emit(trace.Event{Type: trace.StepStart, StepInfo: &trace.StepInfo{
		Number: b.step, Total: b.total, Stage: -1, Instruction: ins.Keyword, Original: ins.Original, Line: ins.Line,
	}})
	b.emit(trace.Event{Type: trace.StepEnd, StepEndInfo: &trace.StepEndInfo{}})
	b.result.Steps = append(b.result.Steps, StepResult{Number: b.step, Original: ins.Original, Instruction: ins.Keyword, Meta: true})
}

// vertexLabels names the steps BuildKit shows as vertices of their own, as
// its dockerfile2llb does (convert.go: cmdTotal counts FROM of an image,
// ADD, COPY, RUN and WORKDIR; prefixCommand writes "[name i/k] ", the index
// padded to the total's width; an unnamed stage is "stage-N" unless the
// Dockerfile has only one).
func (b *Builder) vertexLabels(stages []*dockerfile.Stage) map[*dockerfile.Instruction]string {
	out := map[*dockerfile.Instruction]string{}
	meta, _ := b.df.MetaEnv(b.resolvedBuildArgs())
	names := map[string]bool{}
	for _, st := range stages {
		var shown []*dockerfile.Instruction
		base, _ := dockerfile.Expand(st.Base, meta, b.df.EscapeToken)
		if base = strings.ToLower(base); base != "scratch" && !names[base] {
			shown = append(shown, st.From)
		}
		for _, ins := range st.Instructions {
			switch ins.Keyword {
			case "ADD", "COPY", "RUN", "WORKDIR":
				shown = append(shown, ins)
			}
		}
		prefix := st.Name
		if prefix == "" && len(b.df.Stages) > 1 {
			prefix = fmt.Sprintf("stage-%d", st.Index)
		}
		if prefix != "" {
			prefix += " "
		}
		width := len(strconv.Itoa(len(shown)))
		for i, ins := range shown {
			text := ins.Original
			if ins == st.From {
				// BuildKit names the base by its full reference.
				text = "FROM " + base
				if ref, err := store.ParseRef(base); err == nil {
					text = "FROM " + ref.String()
				}
			}
			out[ins] = fmt.Sprintf("[%s%*d/%d] %s", prefix, width, i+1, len(shown), text)
		}
		if st.Name != "" {
			names[st.Name] = true
		}
	}
	return out
}

// checkPlatform accepts "" and the host's platform; berth builds nothing else.
func checkPlatform(p, what string) error {
	if p == "" {
		return nil
	}
	osName, arch := platform()
	parts := strings.Split(strings.ToLower(p), "/")
	wantArch := map[string]string{"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}
	ok := parts[0] == osName && len(parts) <= 3
	if ok && len(parts) >= 2 {
		a := parts[1]
		if n, found := wantArch[a]; found {
			a = n
		}
		ok = a == arch
	}
	if !ok {
		return fmt.Errorf("%s %s is not supported: berth builds only for the host platform %s/%s (remove the option, or build on a %s machine)", what, p, osName, arch, p)
	}
	return nil
}

// resolvedBuildArgs gives every --build-arg its value (FOO alone reads $FOO).
func (b *Builder) resolvedBuildArgs() map[string]string {
	out := map[string]string{}
	for k, v := range b.opts.BuildArgs {
		if v != nil {
			out[k] = *v
		} else if env, ok := os.LookupEnv(k); ok {
			out[k] = env
		}
	}
	return out
}

// platform returns the OS and architecture images are built for.
func platform() (string, string) { return "linux", runtime.GOARCH }
