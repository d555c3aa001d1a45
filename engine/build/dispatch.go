package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthkit/berth/engine/build/cache"
	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/trace"
)

// dispatch executes one instruction after FROM: one dispatcher per kind of
// step, each handing commitStep what its step is (as moby's
// builder/dockerfile dispatchers hand theirs to commit).
func (b *Builder) dispatch(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	switch ins.Keyword {
	case "RUN":
		return b.dispatchRun(ctx, s, ins, res)
	case "COPY", "ADD":
		return b.dispatchCopy(ctx, s, ins, res)
	case "WORKDIR":
		return b.dispatchWorkdir(ctx, s, ins, res)
	default:
		return b.dispatchMeta(ctx, s, ins, res)
	}
}

// dispatchRun runs the command in a container started from the parent
// image; the snapshot of what it wrote is the step's layer.
func (b *Builder) dispatchRun(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	cmd := cache.RunCmd(s.shell(), ins.JSON, ins.Args, ins.RunScript())
	argEnv := s.buildArgEnv()
	network := b.opts.Network
	if n, ok := ins.Flag("network"); ok && n != "default" {
		network = n
	}
	return b.commitStep(ctx, s, &stepSpec{
		ins: ins,
		key: cache.RunKey(cmd, argEnv),
		container: ContainerRequest{Cmd: cmd, Env: append(append([]string{}, s.config.Config.Env...), argEnv...),
			WorkingDir: s.config.Config.WorkingDir, User: s.config.Config.User, Network: network, Purpose: "build",
			MoreRuns: b.step < b.lastRun},
		work: func(ctx context.Context, id string) error { return b.runContainer(ctx, id, cmd) },
	}, res)
}

// runContainer starts a RUN's container and waits for it; its output goes
// to the trace. A non-zero exit fails the step in Docker's words.
func (b *Builder) runContainer(ctx context.Context, id string, cmd []string) error {
	out := &trace.OutputWriter{Record: b.emit, Stream: "stdout", Container: id}
	errOut := &trace.OutputWriter{Record: b.emit, Stream: "stderr", Container: id}
	code, err := b.backend.RunContainer(ctx, id, out, errOut)
	out.Flush()
	errOut.Flush()
	if err != nil {
		return err
	}
	if code != 0 {
		return &StepError{Step: b.step, ExitCode: code,
			Err: fmt.Errorf("The command '%s' returned a non-zero code: %d", strings.Join(cmd, " "), code)}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("build interrupted: %w", ctxErr)
	}
	return nil
}

// dispatchMeta changes the config (CMD, ENV, LABEL, ...). The classic
// builder creates a container for it too, never started, only committed
// with the new config and an empty layer.
func (b *Builder) dispatchMeta(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	change, err := b.metaChange(s, ins)
	if err != nil {
		return err
	}
	cmd := cache.MetadataCmd(s.shell(), change)
	return b.commitStep(ctx, s, &stepSpec{
		ins: ins,
		key: cache.Key(cmd),
		container: ContainerRequest{Cmd: cmd, Env: s.config.Config.Env, WorkingDir: s.config.Config.WorkingDir,
			User: s.config.Config.User, Purpose: "build", MetadataOnly: b.opts.Remove || b.opts.ForceRemove},
	}, res)
}

// dispatchWorkdir sets the working directory and creates it in a layer of
// its own, as Docker's classic builder has done since 1.13 (dispatchers.go,
// dispatchWorkdir: probeAndCreate, ContainerCreateWorkdir, commitContainer);
// when the directory already exists the layer is empty and the entry
// empty_layer.
func (b *Builder) dispatchWorkdir(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	change, err := b.metaChange(s, ins)
	if err != nil {
		return err
	}
	cmd := cache.WorkdirCmd(s.shell(), change)
	dir := s.config.Config.WorkingDir
	return b.commitStep(ctx, s, &stepSpec{
		ins: ins,
		key: cache.Key(cmd),
		container: ContainerRequest{Cmd: cmd, Env: s.config.Config.Env, WorkingDir: dir,
			User: s.config.Config.User, Purpose: "build", NeverStarts: true},
		work: func(ctx context.Context, id string) error { return b.createWorkdir(ctx, id, dir) },
	}, res)
}
