package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

type topOptions struct {
	container string
	psArgs    []string
	out       io.Writer
}

func newTopCmd(g *globalOptions) *cobra.Command {
	opts := &topOptions{}
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Long: `List a container's processes with their host PIDs, as "ps -ef" shows them.
berth reads them from the container's cgroup and /proc; ps options are not
supported.`,
		Example: "  berth top web",
		Args:    requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container, opts.psArgs, opts.out = args[0], args[1:], cmd.OutOrStdout()
			return runTop(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func runTop(ctx context.Context, g *globalOptions, opts *topOptions) error {
	if len(opts.psArgs) > 0 && strings.Join(opts.psArgs, " ") != "-ef" {
		return fmt.Errorf("berth top shows ps -ef's columns only; ps options %q are not supported", strings.Join(opts.psArgs, " "))
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	titles, procs, err := eng.TopContainer(ctx, opts.container)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(opts.out, 20, 1, 3, ' ', 0)
	fmt.Fprintln(w, strings.Join(titles, "\t"))
	for _, p := range procs {
		fmt.Fprintln(w, strings.Join(p, "\t"))
	}
	return w.Flush()
}
