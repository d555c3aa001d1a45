package build

import (
	"context"
	"fmt"
)

// createWorkdir makes dir (root-owned, 0755, as Docker) in the container's
// filesystem; symlinks on the way resolve inside it, never out of it.
func (b *Builder) createWorkdir(ctx context.Context, id, dir string) error {
	rootfs, unmount, err := b.backend.MountContainer(ctx, id)
	if err != nil {
		return err
	}
	defer unmount()
	c := &copier{rootfs: rootfs}
	if err := c.mkdirAll(dir); err != nil {
		return fmt.Errorf("WORKDIR %s: %w", dir, err)
	}
	return nil
}
