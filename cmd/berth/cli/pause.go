package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

type pauseOptions struct {
	containers  []string
	out, errOut io.Writer
}

func newPauseCmd(g *globalOptions) *cobra.Command {
	opts := &pauseOptions{}
	cmd := &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Long: `Freeze every process of a container with the cgroup freezer: they stop
being scheduled, keep their memory and open files, and resume with unpause.
berth commit --pause does this while it snapshots a running container.`,
		Example: "  berth pause web",
		Args:    requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runPause(cmd.Context(), g, opts)
		},
	}
	return cmd
}

func runPause(ctx context.Context, g *globalOptions, opts *pauseOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	return forEachContainer(opts.containers, opts.out, opts.errOut, func(name string) error {
		return eng.PauseContainer(ctx, name)
	})
}
