package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

type unpauseOptions struct {
	containers  []string
	out, errOut io.Writer
}

func newUnpauseCmd(g *globalOptions) *cobra.Command {
	opts := &unpauseOptions{}
	cmd := &cobra.Command{
		Use:     "unpause CONTAINER [CONTAINER...]",
		Short:   "Unpause all processes within one or more containers",
		Example: "  berth unpause web",
		Args:    requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runUnpause(cmd.Context(), g, opts)
		},
	}
	return cmd
}

func runUnpause(ctx context.Context, g *globalOptions, opts *unpauseOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	return forEachContainer(opts.containers, opts.out, opts.errOut, func(name string) error {
		return eng.UnpauseContainer(ctx, name)
	})
}
