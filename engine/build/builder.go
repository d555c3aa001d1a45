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
	Network    string // "host" (default) or "none"
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
}

// CommitRequest asks the backend to save a container as an image.
type CommitRequest struct {
	// Config is the new image's config without the new layer and history
	// entry: those the commit adds.
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
	// Platform is accepted for FROM --platform compatibility ("" = host).
	Platform string
	// EngineName names the producer in the trace ("berth 0.1.0").
	EngineName string
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

	images     map[digest.Digest]*store.Image
	stages     []*stageState
	total      int
	step       int
	result     *Result
	unusedArgs map[string]bool
}

// Build parses the Dockerfile, runs every step and tags the result.
func Build(ctx context.Context, backend Backend, opts Options) (*Result, error) {
	b := &Builder{backend: backend, store: backend.Store(), opts: opts, id: store.RandomID(),
		images: map[digest.Digest]*store.Image{}, unusedArgs: map[string]bool{}}
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

func (b *Builder) run(ctx context.Context) (res *Result, err error) {
	start := time.Now()
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
	b.total = 0
	for _, st := range stages {
		b.total += 1 + len(st.Instructions)
	}
	b.result = &Result{BuildID: b.id}
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
	b.ctxt, err = LoadContext(b.opts.ContextDir, b.dockerfileName())
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
		// Docker's classic builder turns --label into a LABEL step at the end.
		keys := make([]string, 0, len(b.opts.Labels))
		for k := range b.opts.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ins := &dockerfile.Instruction{Keyword: "LABEL"}
		var parts []string
		for _, k := range keys {
			ins.KeyValues = append(ins.KeyValues, dockerfile.KV{Key: k, Value: b.opts.Labels[k], HasValue: true})
			parts = append(parts, fmt.Sprintf("%q=%q", k, b.opts.Labels[k]))
		}
		ins.Original = "LABEL " + strings.Join(parts, " ")
		target := b.df.Stages[len(b.df.Stages)-1]
		if b.opts.Target != "" {
			for _, st := range b.df.Stages {
				if st.Name == strings.ToLower(b.opts.Target) {
					target = st
				}
			}
		}
		target.Instructions = append(target.Instructions, ins)
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
	return nil, fmt.Errorf("failed to reach build target %s in Dockerfile", b.opts.Target)
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
