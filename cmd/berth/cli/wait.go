package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

type waitOptions struct {
	containers  []string
	out, errOut io.Writer
}

func newWaitCmd(g *globalOptions) *cobra.Command {
	opts := &waitOptions{}
	cmd := &cobra.Command{
		Use:     "wait CONTAINER [CONTAINER...]",
		Short:   "Block until one or more containers stop, then print their exit codes",
		Example: "  berth wait web",
		Args:    requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runWait(cmd.Context(), g, opts)
		},
	}
	return cmd
}

func runWait(ctx context.Context, g *globalOptions, opts *waitOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	failed := false
	for _, name := range opts.containers {
		code, err := eng.WaitContainer(ctx, name)
		if err != nil {
			fmt.Fprintln(opts.errOut, "Error:", err)
			failed = true
			continue
		}
		fmt.Fprintln(opts.out, code)
	}
	if failed {
		return &ExitError{Code: 1, Silent: true}
	}
	return nil
}
