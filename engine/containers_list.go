package engine

import (
	"context"

	"github.com/berthkit/berth/engine/store"
)

// EachContainer calls fn with each container, newest first (the order of
// ListContainers), its state brought up to date; only running (and
// paused) ones unless all. It holds one record at a time: it sorts the
// records' small keys (store.ContainerKeys) and reads each record when
// its turn comes, so `ps -a` over 10,000 containers does not keep 10,000
// decoded records. A record removed between the two reads is skipped, as
// ListContainers skips one being removed. An error of fn stops the walk
// and is returned.
func (e *Engine) EachContainer(ctx context.Context, all bool, fn func(*store.Container) error) error {
	keys, err := e.Store.ContainerKeys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if ctx.Err() != nil {
			return ctxErr(ctx)
		}
		c, err := e.Store.ReadContainer(k.ID)
		if err != nil {
			continue // removed since, or damaged: Containers skips those too
		}
		c = e.refresh(c)
		if !all && !c.State.Running() {
			continue
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// ImageBriefs reads, once, the ID and size of every image name and ID:
// what a listing of containers shows of their images, without keeping the
// store's parsed index (store.ImageBriefs).
func (e *Engine) ImageBriefs() (*store.ImageBriefs, error) {
	return e.Store.ImageBriefs()
}
