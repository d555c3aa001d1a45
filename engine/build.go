package engine

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/snapshot"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

// BuildOptions are `berth build`'s options (see build.Options).
type BuildOptions = build.Options

// Build runs Docker's classic builder against this engine. Events go to the
// engine's recorders; the console output is one renderer of them.
func (e *Engine) Build(ctx context.Context, opts BuildOptions) (*build.Result, error) {
	return e.BuildCompressed(ctx, opts, layer.Gzip)
}

// BuildCompressed is Build with the new layers compressed as c (`berth
// build --compression`). A step found in the cache keeps the layer it was
// built with, as BuildKit's compression option without force-compression:
// --no-cache rebuilds them all in c.
func (e *Engine) BuildCompressed(ctx context.Context, opts BuildOptions, c layer.Compression) (*build.Result, error) {
	if opts.EngineName == "" {
		opts.EngineName = "berth " + Version
	}
	b := &buildBackend{e: e, compression: c, exited: map[string]*AttachedContainer{}, moreRuns: map[string]bool{},
		staged: map[string]*stagedDir{}}
	res, err := build.Build(ctx, b, opts)
	b.mu.Lock()
	ran, spares := b.ran, b.spareIDs
	kept := slices.Collect(maps.Values(b.exited))
	staged := slices.Collect(maps.Values(b.staged))
	b.mu.Unlock()
	// The next step's directories made for a step that never came.
	for _, st := range staged {
		st.discard()
	}
	// The inits started ahead for a next step that never came (or never
	// took it).
	for _, id := range spares {
		runtime.DiscardSpare(id)
	}
	// Containers kept (--rm=false) or not removed: their mounts go before
	// the build returns, as their exit's did before.
	for _, a := range kept {
		a.waitMounts()
	}
	if ran {
		// A spare's cgroup left by a killed build (none of this one's:
		// DiscardSpare took it along) goes before the parents.
		runtime.RemoveStrayCgroups("", e.spareCgroupInUse)
		// The steps left the berth cgroup parents for the next step.
		runtime.RemoveCgroupParents("")
	}
	return res, err
}

// buildBackend gives the builder the engine's containers, commits and pulls.
type buildBackend struct {
	e           *Engine
	compression layer.Compression

	// exited are the RUN containers this build ran to their exit, by ID,
	// until the builder removes them (removeExited).
	mu     sync.Mutex
	exited map[string]*AttachedContainer
	// ran says a RUN container was started: its cgroup's parents were
	// kept for the next step, and go at the build's end.
	ran bool
	// moreRuns are the RUN containers another RUN step follows
	// (build.ContainerRequest.MoreRuns); nextID is the ID chosen for the
	// next RUN step's container, whose init the last one's Start started
	// ahead (runtime.Spec.SpareNext).
	moreRuns map[string]bool
	nextID   string
	spareIDs []string // every nextID, for DiscardSpare
	// staged are the snapshot directories made ahead for nextID, by ID,
	// until its create takes them (build_stage.go).
	staged map[string]*stagedDir
}

func (b *buildBackend) Store() *store.Store { return b.e.Store }

func (b *buildBackend) Emit(ev trace.Event) { b.e.Emit(ev) }

func scoped(ctx context.Context, step int) context.Context {
	// The build ID is filled by the builder on its own events; engine events
	// raised on its behalf carry the step.
	s, _ := trace.ScopeFrom(ctx)
	s.Step = step
	return trace.WithScope(ctx, s)
}

func (b *buildBackend) Pull(ctx context.Context, name string, progress io.Writer) (*store.Image, error) {
	return b.e.Pull(ctx, name, PullOptions{Progress: progress})
}

func (b *buildBackend) CreateContainer(ctx context.Context, req build.ContainerRequest) (string, error) {
	ctx = scoped(ctx, req.Step)
	id := b.takeNextID(req.NeverStarts)
	staged := b.takeStaged(id)
	image := ""
	if req.Image != "" {
		image = req.Image.String()
	}
	c, err := b.e.CreateContainer(ctx, ContainerCreateOptions{
		Image:       image,
		Cmd:         req.Cmd,
		Entrypoint:  []string{}, // RUN ignores the image's ENTRYPOINT
		Env:         req.Env,
		WorkingDir:  req.WorkingDir,
		User:        req.User,
		NetworkMode: buildNetwork(req.Network),
		Purpose:     req.Purpose,
		NeverStarts: req.NeverStarts,
		resolved:    req.Parent,
		// Only a container that never starts may go without a filesystem.
		metadataOnly: req.MetadataOnly && req.NeverStarts && req.Purpose == "build",
		id:           id,
		staged:       staged,
	})
	if err != nil {
		if staged != nil {
			os.RemoveAll(staged.path) // gone already if the create got as far as to use it
		}
		return "", err
	}
	if req.MoreRuns {
		b.mu.Lock()
		b.moreRuns[c.ID] = true
		b.mu.Unlock()
	}
	return c.ID, nil
}

func (b *buildBackend) RunContainer(ctx context.Context, id string, stdout, stderr io.Writer) (int, error) {
	next := ""
	b.mu.Lock()
	b.ran = true
	if b.moreRuns[id] {
		// Another RUN step follows: its container gets this ID, and its
		// init is started ahead while this step runs.
		next = store.RandomID()
		b.nextID = next
		b.spareIDs = append(b.spareIDs, next)
		delete(b.moreRuns, id)
	}
	b.mu.Unlock()
	opts := AttachOptions{Stdio: Stdio{Out: stdout, Err: stderr},
		keepCgroupParents: true, deferMountTeardown: true, spareNext: next}
	if next != "" {
		// Its directories are made while this step's command runs.
		opts.afterStart = func(a *AttachedContainer) {
			st := b.e.stageDir(next, a.c)
			b.mu.Lock()
			b.staged[next] = st
			b.mu.Unlock()
		}
	}
	code, a, err := b.e.runContainer(ctx, id, opts)
	if a != nil && a.final != nil {
		b.mu.Lock()
		b.exited[id] = a
		b.mu.Unlock()
	}
	return code, err
}

// takeNextID is the ID chosen ahead for the next container that starts
// (a RUN step's), once; "" for one that never starts or when none was
// chosen.
func (b *buildBackend) takeNextID(neverStarts bool) string {
	if neverStarts {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextID
	b.nextID = ""
	return id
}

// takeStaged is the directory staged for container id, once, waited
// for; nil for none.
func (b *buildBackend) takeStaged(id string) *stagedDir {
	if id == "" {
		return nil
	}
	b.mu.Lock()
	st := b.staged[id]
	delete(b.staged, id)
	b.mu.Unlock()
	return st.take()
}

func (b *buildBackend) MountContainer(ctx context.Context, id string) (string, func() error, error) {
	snaps := snapshot.New(b.e.Store.ContainersDir())
	root, err := snaps.Mount(id)
	if err != nil {
		return "", nil, fmt.Errorf("mount container %s: %w", trace.ShortID(id), err)
	}
	return root, func() error { return snaps.Unmount(id) }, nil
}

func (b *buildBackend) CommitContainer(ctx context.Context, id string, req build.CommitRequest) (*store.Image, error) {
	return b.e.commitContainer(scoped(ctx, req.Step), id, commitSpec{
		Config: req.Config, Ext: req.Ext, Parent: req.Parent, CreatedBy: req.CreatedBy,
		Comment: req.Comment, NoLayer: req.NoLayer, AdoptUpper: true, Compression: b.compression,
		beforeAdopt: func() { b.waitMounts(id) },
	})
}

// waitMounts waits until the mounts of the step container id, which this
// build ran, are gone (AttachedContainer.waitMounts); at once for one it
// did not run.
func (b *buildBackend) waitMounts(id string) {
	b.mu.Lock()
	a := b.exited[id]
	b.mu.Unlock()
	if a != nil {
		a.waitMounts()
	}
}

// RemoveContainer removes a step's container. One this build ran to its
// exit goes the short way (removeExited) unless its record says it runs
// again: started by another berth process since, which the general path
// stops first.
func (b *buildBackend) RemoveContainer(ctx context.Context, id string) error {
	b.mu.Lock()
	a := b.exited[id]
	delete(b.exited, id)
	b.mu.Unlock()
	if a != nil {
		if c, err := b.e.Store.ReadContainer(id); err == nil && !c.State.Running() {
			// Its mounts may still be going (deferMountTeardown): it
			// leaves the listings now, its files once they are gone.
			return b.e.removeExited(ctx, c, a.cgroupsGone, a.waitMounts)
		}
		a.waitMounts()
	}
	return b.e.RemoveContainer(ctx, id, true)
}

// buildNetwork is a RUN step's network: the default bridge, as Docker's,
// unless the build says otherwise (docs/networking.md).
func buildNetwork(m string) string {
	if m == "" || m == "default" {
		return "bridge"
	}
	return m
}
