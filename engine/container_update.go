package engine

import (
	"context"
	"fmt"

	"github.com/berthkit/berth/engine/store"
)

// UpdateOptions are the limits docker update may change; nil leaves one
// as it is.
type UpdateOptions struct {
	Memory    *int64 // bytes (--memory)
	NanoCPUs  *int64 // --cpus × 1e9
	PidsLimit *int64 // --pids-limit; 0 or negative is unlimited
}

// UpdateContainer changes a container's limits: in its record, and in its
// cgroup when it runs (the processes move into a cgroup made for a limit
// it did not have).
func (e *Engine) UpdateContainer(ctx context.Context, idOrName string, opts UpdateOptions) error {
	c, err := e.container(idOrName)
	if err != nil {
		return err
	}
	if opts.Memory != nil && *opts.Memory != 0 && *opts.Memory < 6<<20 {
		return requestError("Minimum memory limit allowed is 6MB")
	}
	if opts.NanoCPUs != nil && *opts.NanoCPUs < 0 {
		return requestError("Range of CPUs is from 0.01 to the number of CPUs")
	}
	next := c.Host
	if opts.Memory != nil {
		next.Memory = *opts.Memory
	}
	if opts.NanoCPUs != nil {
		next.NanoCPUs = *opts.NanoCPUs
	}
	if opts.PidsLimit != nil {
		next.PidsLimit = *opts.PidsLimit
	}
	if c.State.Running() {
		if err := applyLimits(c, next); err != nil {
			return fmt.Errorf("Cannot update container %s: %w", c.ID, err)
		}
	}
	_, err = e.Store.UpdateContainer(c.ID, func(now *store.Container) error {
		now.Host.Memory, now.Host.NanoCPUs, now.Host.PidsLimit = next.Memory, next.NanoCPUs, next.PidsLimit
		return nil
	})
	return err
}
