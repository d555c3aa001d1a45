package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

type diffOptions struct {
	container string
	out       io.Writer
}

func newDiffCmd(g *globalOptions) *cobra.Command {
	opts := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Long: `List what a container changed in its filesystem, read from its overlay upper
dir: A for added, C for changed, D for deleted. This change set is what
berth commit turns into a layer.`,
		Example: "  berth diff box",
		Args:    requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container, opts.out = args[0], cmd.OutOrStdout()
			return runDiff(cmd.Context(), g, opts)
		},
	}
	return cmd
}

func runDiff(ctx context.Context, g *globalOptions, opts *diffOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	changes, err := eng.ContainerChanges(opts.container)
	if err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Fprintln(opts.out, c.String())
	}
	return nil
}
