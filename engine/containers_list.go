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

// CollectContainers is EachContainer for a listing that keeps only a
// little of each container (ps's rendered line): it reads each record
// once (store.ReadContainersOnce), brings its state up to date and calls
// keep, in the store's order, then returns what keep kept newest first,
// in EachContainer's order. keep reports whether to list the container;
// its first error in that order is returned, as EachContainer returns
// fn's. EachContainer reads each record twice (its creation time to sort,
// then the whole record at its turn): 10,000 records decoded twice.
func CollectContainers[T any](ctx context.Context, e *Engine, all bool, keep func(*store.Container) (T, bool, error)) ([]T, error) {
	type kept struct {
		value T
		ok    bool
		err   error
	}
	var seen []kept
	order, err := e.Store.ReadContainersOnce(func(c *store.Container) error {
		if ctx.Err() != nil {
			return ctxErr(ctx)
		}
		var k kept
		if c != nil { // damaged: EachContainer skips it
			if c = e.refresh(c); all || c.State.Running() {
				k.value, k.ok, k.err = keep(c)
			}
		}
		seen = append(seen, k)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []T
	for _, i := range order {
		if seen[i].err != nil {
			return nil, seen[i].err
		}
		if seen[i].ok {
			out = append(out, seen[i].value)
		}
		seen[i] = kept{} // its value is in out now
	}
	return out, nil
}
