package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// systemPruneOptions are `system prune`'s flags.
type systemPruneOptions struct {
	all, volumes, force bool
	filters             []string
	stdin               io.Reader
	out, errOut         io.Writer
}

func newSystemPruneCmd(g *globalOptions) *cobra.Command {
	opts := &systemPruneOptions{}
	cmd := &cobra.Command{
		Use:                   "prune [OPTIONS]",
		DisableFlagsInUseLine: true,
		Short:                 "Remove unused data",
		Long: `Remove stopped containers, dangling images (every image no container uses
with --all) and, with --volumes, anonymous volumes no container uses, as
docker system prune does. Berth's build cache is its images: what the
images go with, the cache goes with.`,
		Example: "  berth system prune\n  berth system prune -a --volumes -f",
		Args:    requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdin, opts.out, opts.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runSystemPrune(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "remove all unused images not just dangling ones")
	f.BoolVar(&opts.volumes, "volumes", false, "prune anonymous volumes")
	f.BoolVarP(&opts.force, "force", "f", false, "do not prompt for confirmation")
	stringArrayVarP(f, &opts.filters, "filter", "", "not supported by berth (refused)")
	return cmd
}

// systemPruneWarning is docker/cli's confirmation, listing only what Berth
// prunes (it has no networks to prune).
func systemPruneWarning(opts *systemPruneOptions) string {
	items := []string{"all stopped containers"}
	if opts.volumes {
		items = append(items, "all anonymous volumes not used by at least one container")
	}
	if opts.all {
		items = append(items, "all images without at least one container associated to them", "all build cache")
	} else {
		items = append(items, "all dangling images", "unused build cache")
	}
	return "WARNING! This will remove:\n  - " + strings.Join(items, "\n  - ") + "\n\nAre you sure you want to continue? [y/N] "
}

func runSystemPrune(ctx context.Context, g *globalOptions, opts *systemPruneOptions) error {
	if g.host != "" {
		return notRemote("berth system prune", "use docker system prune with DOCKER_HOST set to the daemon")
	}
	if len(opts.filters) > 0 {
		return fmt.Errorf("--filter is not supported by berth system prune: prune with container prune, image prune and volume prune, or remove items by name")
	}
	if !opts.force {
		fmt.Fprint(opts.out, systemPruneWarning(opts))
		answer, _ := bufio.NewReader(opts.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			// docker/cli's words and status for a refused prompt.
			fmt.Fprintln(opts.errOut, "system prune has been cancelled")
			return &ExitError{Code: 1, Silent: true}
		}
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	// Docker's order: containers first, so their images and volumes are free.
	removed, total, err := eng.PruneContainers(ctx)
	printPruned(opts.out, "Deleted Containers:", removed)
	if err != nil {
		return err
	}
	if opts.volumes {
		vols, reclaimed, err := eng.PruneVolumes(ctx, false)
		printPruned(opts.out, "Deleted Volumes:", vols)
		total += reclaimed
		if err != nil {
			return err
		}
	}
	report, err := eng.PruneImages(ctx, engine.PruneImagesOptions{All: opts.all})
	printPrunedImages(opts.out, report)
	if err != nil {
		return err
	}
	total += report.Reclaimed
	fmt.Fprintln(opts.out, "Total reclaimed space:", humanSize(total))
	return nil
}
