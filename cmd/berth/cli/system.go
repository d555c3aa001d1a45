package cli

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/berthkit/berth/engine/store"
	"github.com/spf13/cobra"
)

func newSystemCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "system",
		DisableFlagsInUseLine: true,
		Short:                 "Manage berth",
		Example:               "  berth system df",
		Args:                  requireArgs(0, 0),
		RunE:                  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSystemDfCmd(g), newSystemPruneCmd(g), newInfoCmd(g))
	return cmd
}

// dfOptions are `system df`'s flags.
type dfOptions struct {
	format  string
	verbose bool
	out     io.Writer
}

func newSystemDfCmd(g *globalOptions) *cobra.Command {
	opts := &dfOptions{}
	cmd := &cobra.Command{
		Use:                   "df [OPTIONS]",
		DisableFlagsInUseLine: true,
		Short:                 "Show berth disk usage",
		Long: `Show how much space images, containers and the build cache take, and how
much of it could be freed, as docker system df does. Image sizes count each
layer once, uncompressed.`,
		Example: "  berth system df\n  berth system df -v\n  berth system df --format '{{.Type}}: {{.Size}}'",
		Args:    requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.out = cmd.OutOrStdout()
			return runSystemDf(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	cmd.Flags().BoolVarP(&opts.verbose, "verbose", "v", false, "show detailed information on space usage")
	return cmd
}

// dfRow is what a `system df --format` template sees (Docker's names).
type dfRow struct {
	Active      string
	Reclaimable string
	Size        string
	TotalCount  string
	Type        string
}

var dfHeaders = map[string]string{"Active": "ACTIVE", "Reclaimable": "RECLAIMABLE", "Size": "SIZE", "TotalCount": "TOTAL", "Type": "TYPE"}

func reclaimable(n, total int64) string {
	if total <= 0 {
		return humanSize(n)
	}
	return fmt.Sprintf("%s (%d%%)", humanSize(n), int(100*n/total))
}

func runSystemDf(ctx context.Context, g *globalOptions, opts *dfOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	if opts.verbose {
		if opts.format != "" && opts.format != "table" {
			return fmt.Errorf("--format with --verbose is not supported by berth: use one or the other")
		}
		return writeDfVerbose(ctx, eng, opts.out)
	}
	du, err := eng.DiskUsage(ctx)
	if err != nil {
		return err
	}
	vols, activeVols, volSize, volFree, err := eng.VolumeUsage(ctx)
	if err != nil {
		return err
	}
	lf, err := newListFormat(opts.format, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", dfHeaders)
	if err != nil {
		return err
	}
	rows := []any{
		dfRow{Type: "Images", TotalCount: fmt.Sprint(du.Images), Active: fmt.Sprint(du.ActiveImages),
			Size: humanSize(du.ImagesSize), Reclaimable: reclaimable(du.ImagesReclaimable, du.ImagesSize)},
		dfRow{Type: "Containers", TotalCount: fmt.Sprint(du.Containers), Active: fmt.Sprint(du.RunningContainers),
			Size: humanSize(du.ContainersSize), Reclaimable: reclaimable(du.ContainersReclaimable, du.ContainersSize)},
		dfRow{Type: "Local Volumes", TotalCount: fmt.Sprint(vols), Active: fmt.Sprint(activeVols),
			Size: humanSize(volSize), Reclaimable: reclaimable(volFree, volSize)},
		dfRow{Type: "Build Cache", TotalCount: fmt.Sprint(du.BuildCacheEntries), Active: "0", Size: "0B", Reclaimable: "0B"},
	}
	return lf.write(opts.out, rows)
}

// sortedFamiliar returns full names in familiar form, sorted.
func sortedFamiliar(refs []string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = store.Familiar(r)
	}
	sort.Strings(out)
	return out
}
