package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

type killOptions struct {
	signal      string
	containers  []string
	out, errOut io.Writer
}

func newKillCmd(g *globalOptions) *cobra.Command {
	opts := &killOptions{}
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Example: `  berth kill web
  berth kill -s HUP web`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runKill(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.signal, "signal", "s", "KILL", "signal to send to the container")
	return cmd
}

func runKill(ctx context.Context, g *globalOptions, opts *killOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	return forEachContainer(opts.containers, opts.out, opts.errOut, func(name string) error {
		return eng.KillContainer(ctx, name, opts.signal)
	})
}
