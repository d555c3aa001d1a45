package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

// localBackend runs the engine in this process (berth without --host).
type localBackend struct {
	eng *engine.Engine
}

// Close leaves the engine open: globalOptions closes it when berth ends.
func (b localBackend) Close() {}

func (b localBackend) TraceTo(file string) (func(), error) {
	if file == "" {
		return func() {}, nil
	}
	return traceTo(b.eng, file)
}

func (b localBackend) AllowInsecure([]string) error { return nil }

func (b localBackend) CheckBuild(*buildOptions, layer.Compression) error { return nil }

// Build runs the builder here, printing the classic console (or the
// plain lines, or --explain's plan).
func (b localBackend) Build(ctx context.Context, opts *buildOptions, bo build.Options, compression layer.Compression) (string, error) {
	eng := b.eng
	if opts.traceFile != "" {
		f, err := os.Create(opts.traceFile)
		if err != nil {
			return "", fmt.Errorf("--trace: %w", err)
		}
		defer f.Close()
		w := trace.NewWriter(f)
		defer eng.AddRecorder(w)()
		defer func() {
			if werr := w.Err(); werr != nil {
				fmt.Fprintln(opts.errOut, "Error: writing the trace:", werr)
			}
		}()
	}
	if !opts.quiet && !opts.explain {
		if opts.progress == "plain" {
			defer eng.AddRecorder(trace.NewPlain(opts.out, opts.errOut))()
		} else {
			defer eng.AddRecorder(trace.NewConsole(opts.out, opts.errOut))()
			bo.Progress = opts.out
		}
	}
	res, err := eng.BuildCompressed(ctx, bo, compression)
	if opts.explain && err == nil {
		renderExplain(opts.out, res)
		return "", nil
	}
	if err != nil {
		var se *build.StepError
		if errors.As(err, &se) {
			fmt.Fprintln(opts.errOut, se.Error())
			return "", &ExitError{Code: 1, Err: err, Silent: true}
		}
		return "", err
	}
	if opts.quiet {
		fmt.Fprintln(opts.out, res.ImageID)
	}
	return res.ImageID.String(), nil
}

func (b localBackend) Images(ctx context.Context, opts engine.ListImagesOptions) ([]imageListing, error) {
	opts.NoLabels = true     // the table shows none
	opts.NoContainers = true // {{.Containers}} is "N/A", as in Docker's CLI
	list, err := b.eng.ListImages(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]imageListing, 0, len(list))
	for i, s := range list {
		out = append(out, imageListing{
			ID: s.Image.ID.String(), Created: s.Image.Created(), Size: s.Image.Size,
			Repository: s.Repository, Tag: s.Tag, Digest: s.Digest.String(),
		})
		list[i] = engine.ImageSummary{} // its image can go as the listing grows
	}
	return out, nil
}

func (b localBackend) ImageNames(context.Context) ([]string, error) { return b.eng.ImageNames() }

func (b localBackend) Tag(ctx context.Context, source, target string) error {
	_, err := b.eng.TagImage(ctx, source, target)
	return err
}

func (b localBackend) RemoveImage(ctx context.Context, name string, opts engine.RemoveImageOptions) ([]engine.RemoveRecord, error) {
	return b.eng.RemoveImage(ctx, name, opts)
}

func (b localBackend) Pull(ctx context.Context, name string, opts engine.PullOptions) error {
	_, err := b.eng.Pull(ctx, name, opts)
	return err
}

func (b localBackend) RegistryTags(ctx context.Context, repo string, insecure []string) ([]string, error) {
	return b.eng.RemoteTags(ctx, repo, insecure)
}

func (b localBackend) Push(ctx context.Context, name string, opts engine.PushOptions) error {
	return b.eng.Push(ctx, name, opts)
}

func (b localBackend) Commit(ctx context.Context, container string, opts engine.CommitOptions) (string, error) {
	img, err := b.eng.Commit(ctx, container, opts)
	if err != nil {
		return "", err
	}
	return img.ID.String(), nil
}

func (b localBackend) Containers(ctx context.Context, all, size bool, keep func(*store.Container) bool) ([]psContainer, error) {
	var out []psContainer
	err := b.eachContainer(ctx, all, size, keep, func(pc psContainer) error {
		out = append(out, pc)
		return nil
	})
	return out, err
}

// eachContainer is Containers one container at a time, newest first:
// what `ps` streams its rows from (engine.EachContainer).
func (b localBackend) eachContainer(ctx context.Context, all, size bool, keep func(*store.Container) bool, fn func(psContainer) error) error {
	row := b.psContainerOf(size)
	return b.eng.EachContainer(ctx, all, func(c *store.Container) error {
		if !keep(c) {
			return nil
		}
		return fn(row(c))
	})
}

// collectContainers renders each kept container with render as its record
// is read, once, and returns the rendered values newest first
// (engine.CollectContainers): `ps` without a limit, which keeps every line
// anyway for the table's widths.
func (b localBackend) collectContainers(ctx context.Context, all, size bool, keep func(*store.Container) bool, render func(psContainer) (string, error)) ([]string, error) {
	row := b.psContainerOf(size)
	return engine.CollectContainers(ctx, b.eng, all, func(c *store.Container) (string, bool, error) {
		if !keep(c) {
			return "", false, nil
		}
		line, err := render(row(c))
		return line, true, err
	})
}

// psContainerOf returns what makes a container ps's row: its status, and
// its image's ID and size, looked up once per listing.
func (b localBackend) psContainerOf(size bool) func(*store.Container) psContainer {
	images := newImageCache(b.eng)
	now := time.Now().UTC()
	return func(c *store.Container) psContainer {
		pc := psContainer{c: c, status: engine.ContainerStatus(c.State, now)}
		if c.ImageRef != "" {
			img, ok := images.get(c.ImageRef)
			pc.imageCurrent = ok && img.ID.String() == c.Image
		}
		if size {
			pc.sizeRw = b.eng.ContainerSize(c.ID)
			pc.sizeRootFs = pc.sizeRw
			if img, ok := images.get(c.Image); ok {
				pc.sizeRootFs += img.Size
			}
		}
		return pc
	}
}

// imageCache looks each image name or ID up once per listing: thousands of
// containers usually share a handful of images. The common forms (a name,
// a full ID) are answered from one streamed read of the index
// (engine.ImageBriefs); the store's full lookup, which keeps the parsed
// index in memory, is left for the others.
type imageCache struct {
	eng    *engine.Engine
	briefs *store.ImageBriefs // read at the first lookup
	tried  bool               // briefs was read (nil: the read failed)
	found  map[string]store.ImageBrief
	absent map[string]bool
}

func newImageCache(eng *engine.Engine) *imageCache {
	return &imageCache{eng: eng, found: map[string]store.ImageBrief{}, absent: map[string]bool{}}
}

func (p *imageCache) get(nameOrID string) (store.ImageBrief, bool) {
	if img, ok := p.found[nameOrID]; ok {
		return img, true
	}
	if p.absent[nameOrID] {
		return store.ImageBrief{}, false
	}
	if !p.tried {
		p.tried = true
		p.briefs, _ = p.eng.ImageBriefs()
	}
	var img store.ImageBrief
	ok, known := false, false
	if p.briefs != nil {
		img, ok, known = p.briefs.Lookup(nameOrID)
	}
	if !known {
		var full *store.Image
		if full, _ = p.eng.LookupImage(nameOrID); full != nil {
			img, ok = store.ImageBrief{ID: full.ID, Size: full.Size}, true
		}
	}
	if ok {
		p.found[nameOrID] = img
	} else {
		p.absent[nameOrID] = true
	}
	return img, ok
}

func (b localBackend) CreateContainer(ctx context.Context, opts engine.ContainerCreateOptions, _ bool) (string, error) {
	c, err := b.eng.CreateContainer(ctx, opts)
	if err != nil {
		return "", err
	}
	return c.ID, nil
}

func (b localBackend) StartContainer(ctx context.Context, id string) error {
	if err := b.eng.StartContainer(ctx, id); err != nil {
		return startError(err)
	}
	return nil
}

func (b localBackend) RemoveContainer(ctx context.Context, id string, force bool) error {
	return b.eng.RemoveContainer(ctx, id, force)
}

// AttachRun starts the container supervised by this process; --rm is the
// engine's AutoRemove.
func (b localBackend) AttachRun(ctx context.Context, id string, _ bool, as attachSpec) (int, error) {
	return attachRun(ctx, b.eng, id, as)
}
