package cli

import (
	"fmt"
	"runtime"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/trace"
	"github.com/spf13/cobra"
)

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Show the berth version",
		Example: "  berth version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "berth version %s\n", engine.Version)
			fmt.Fprintf(out, " Go version:    %s\n", runtime.Version())
			fmt.Fprintf(out, " OS/Arch:       %s/%s\n", runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(out, " Trace schema:  %d\n", trace.SchemaVersion)
			return nil
		},
	}
}
