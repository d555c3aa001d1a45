package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

type rmOptions struct {
	force       bool
	volumes     bool
	containers  []string
	out, errOut io.Writer
}

func newRmCmd(g *globalOptions) *cobra.Command {
	opts := &rmOptions{}
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Long: `Remove containers: their overlay snapshot (the upper dir with everything they
wrote), their log and their record. A running container is refused unless -f,
which kills it first.`,
		Example: `  berth rm box
  berth rm -f web`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runRm(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	f.BoolVarP(&opts.volumes, "volumes", "v", false, "remove anonymous volumes associated with the container")
	return cmd
}

func runRm(ctx context.Context, g *globalOptions, opts *rmOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	return forEachContainer(opts.containers, opts.out, opts.errOut, func(name string) error {
		return eng.RemoveContainerVolumes(ctx, name, opts.force, opts.volumes)
	})
}
