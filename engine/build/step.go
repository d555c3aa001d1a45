package build

import (
	"context"
	"fmt"

	"github.com/berthkit/berth/engine/build/cache"
	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

// stepSpec is what a dispatcher hands the step helper: the step's cache
// key, the container to create and what to do with it.
type stepSpec struct {
	ins *dockerfile.Instruction
	key string
	// sources are a COPY or ADD's content checksums (nil for other steps).
	sources map[string]string
	// container is the intermediate container. The helper fills in the
	// parent image and the step.
	container ContainerRequest
	// createdBy is the history text; "" is the key.
	createdBy string
	// prepare runs after a miss, before the container is created: a COPY
	// --from mounts its source image there and names its history.
	prepare func(ctx context.Context) error
	// work runs with the created container: starts it (RUN) or writes into
	// it (COPY, WORKDIR). nil for metadata: the container never starts and
	// the commit adds an empty layer.
	work func(ctx context.Context, id string) error
}

// commitStep is every step after FROM, as the notes tell it: probe the
// cache (a hit reuses the image and ends the step); create the temporary
// container from the parent image; run it, or write into it, or neither;
// snapshot it and commit the image; remove the container. The backend
// emits the container's and the image's trace events; probe emits the
// cache's. In --explain nothing after the probe happens.
func (b *Builder) commitStep(ctx context.Context, s *stageState, spec *stepSpec, res *StepResult) error {
	// The entry in flight may be the one this probe looks for (a later
	// stage on the same parent): it is written first.
	if b.readsCache(s) {
		if err := b.waitCache(); err != nil {
			return err
		}
	}
	if hit := b.probe(s, spec.ins, spec.key, spec.sources, res); hit || b.opts.Explain {
		return nil
	}
	if spec.prepare != nil {
		if err := spec.prepare(ctx); err != nil {
			return err
		}
	}
	req := spec.container
	req.Image, req.Parent, req.Step = s.parentID(), s.image, b.step
	req.NeverStarts = spec.work == nil || req.NeverStarts
	id, err := b.backend.CreateContainer(ctx, req)
	if err != nil {
		return err
	}
	if spec.work != nil {
		err = spec.work(ctx, id)
	}
	createdBy := spec.createdBy
	if createdBy == "" {
		createdBy = spec.key
	}
	var img *store.Image
	if err == nil {
		cfg := s.config
		cfg.History = s.historyWithRoom()
		img, err = b.backend.CommitContainer(ctx, id, CommitRequest{
			Config: cfg, Ext: s.ext, Parent: s.image, CreatedBy: createdBy, NoLayer: spec.work == nil, Step: b.step,
		})
	}
	// Removed as --rm and --force-rm say, whether the step succeeded or not.
	if rmErr := b.removeContainer(ctx, id, err == nil); err == nil {
		err = rmErr
	}
	if err != nil {
		return err
	}
	return b.stepDone(s, spec.ins, spec.key, spec.sources, img)
}

// removeContainer removes an intermediate container as --rm and --force-rm say.
func (b *Builder) removeContainer(ctx context.Context, id string, succeeded bool) error {
	if !(b.opts.Remove || b.opts.ForceRemove) {
		return nil
	}
	// A cancelled build still cleans up: use a context that is not cancelled.
	err := b.backend.RemoveContainer(context.WithoutCancel(ctx), id)
	if err != nil && succeeded {
		return fmt.Errorf("remove intermediate container %s: %w", trace.ShortID(id), err)
	}
	return nil
}

// stepDone forwards the new image to the next step and records it in the
// cache (in the background: putCache).
func (b *Builder) stepDone(s *stageState, ins *dockerfile.Instruction, key string, sources map[string]string, img *store.Image) error {
	if err := b.putCache(store.CacheEntry{Parent: s.parentID(), Key: key, Image: img.ID, Original: ins.Original,
		Sources: sources, Group: cache.Group(key, sources)}, ins); err != nil {
		return err
	}
	// Not kept in b.images: each step's config holds the whole history and
	// environment so far, and keeping them all made memory grow with the
	// square of the steps. The next step needs only this one, whose
	// environment and history are views of the stage's arrays (owned.go).
	s.image = img
	s.keepHistory(img.Config.History)
	s.config = img.Config
	s.ext = cloneExt(img.Ext)
	return nil
}
