package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthkit/berth/engine/dockerfile"
)

// dispatchWorkdir sets the working directory and creates it in a layer of
// its own, as Docker's classic builder has done since 1.13 (dispatchers.go,
// dispatchWorkdir: probeAndCreate, ContainerCreateWorkdir, commitContainer).
// Its history text is the single-argument "#(nop) WORKDIR /app" form
// (internals.go, withCmdCommentString), one space after "#(nop)"; when the
// directory already exists the layer is empty and the entry empty_layer.
func (b *Builder) dispatchWorkdir(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	comment, err := b.metaChange(s, ins)
	if err != nil {
		return err
	}
	cmd := append(append([]string{}, s.shell()...), "#(nop) "+comment)
	createdBy := strings.Join(cmd, " ")
	if hit := b.probe(s, ins, createdBy, nil, res); hit || b.opts.Explain {
		return nil
	}
	id, err := b.backend.CreateContainer(ctx, ContainerRequest{
		Image: s.parentID(), Cmd: cmd, Env: s.config.Config.Env, WorkingDir: s.config.Config.WorkingDir,
		User: s.config.Config.User, Purpose: "build", Step: b.step, NeverStarts: true,
	})
	if err != nil {
		return err
	}
	err = b.createWorkdir(ctx, id, s.config.Config.WorkingDir)
	img, err := b.commitAndRemove(ctx, id, s, createdBy, err)
	if err != nil {
		return err
	}
	return b.stepDone(s, ins, createdBy, nil, img)
}

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
