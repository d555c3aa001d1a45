package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/spf13/cobra"
)

func newImageCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "image",
		DisableFlagsInUseLine: true,
		Short:                 "Manage images",
		Example: `  berth image ls
  berth image validate
  berth image diff busybox
  berth image prune -a`,
		Args: requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newImageListCmd(g, "ls [OPTIONS] [REPOSITORY[:TAG]]", []string{"list"}),
		newImageRemoveCmd(g, "rm [OPTIONS] IMAGE [IMAGE...]", []string{"remove"}),
		newImageInspectCmd(g),
		newImageHistoryCmd(g),
		newImageTagCmd(g, "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"),
		newImagePruneCmd(g),
		newImageValidateCmd(g),
		newImageDiffCmd(g),
		newImageExploreCmd(g),
		newImportCmd(g),
		newImageSaveCmd(g),
		newImageLoadCmd(g),
		// Docker's management names for the top-level verbs.
		newPullCmd(g), newPushCmd(g), newBuildCmd(g),
	)
	return cmd
}

func newImageHistoryCmd(g *globalOptions) *cobra.Command { return newHistoryCmd(g) }

// pruneOptions are `image prune`'s flags.
type pruneOptions struct {
	all   bool
	force bool
	stdin io.Reader
	out   io.Writer
}

func newImagePruneCmd(g *globalOptions) *cobra.Command {
	opts := &pruneOptions{}
	cmd := &cobra.Command{
		Use:                   "prune [OPTIONS]",
		DisableFlagsInUseLine: true,
		Short:                 "Remove unused images",
		Long: `Remove dangling images (untagged, and no image built on them), or with
--all every image no container uses, and free their blobs and layers.`,
		Example: `  berth image prune -f
  berth image prune -a -f`,
		Args: requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdin, opts.out = cmd.InOrStdin(), cmd.OutOrStdout()
			return runImagePrune(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.all, "all", "a", false, "remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

func runImagePrune(ctx context.Context, g *globalOptions, opts *pruneOptions) error {
	if !opts.force {
		warning := "WARNING! This will remove all dangling images."
		if opts.all {
			warning = "WARNING! This will remove all images without at least one container associated to them."
		}
		fmt.Fprintf(opts.out, "%s\nAre you sure you want to continue? [y/N] ", warning)
		answer, _ := bufio.NewReader(opts.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return nil
		}
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	report, err := eng.PruneImages(ctx, engine.PruneImagesOptions{All: opts.all})
	printPrunedImages(opts.out, report)
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.out, "Total reclaimed space:", humanSize(report.Reclaimed))
	return nil
}

// validateOptions are `image validate`'s arguments.
type validateOptions struct {
	images []string
	repair bool
	out    io.Writer
}

func newImageValidateCmd(g *globalOptions) *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:                   "validate [OPTIONS] [IMAGE...]",
		DisableFlagsInUseLine: true,
		Short:                 "Check images against their digests and the OCI schemas",
		Long: `Recompute every digest, diff ID and size of the images (all of them, and
the store's index, when none is named), check manifests, configs and the
index against the OCI JSON schemas, and check that the history has one
non-empty entry per layer. Prints "ok NAME ID" per sound image and the
problems of the others; exits 1 if anything is wrong.

Checking the whole store also lists the leftovers of killed or interrupted
commands: temp files, blobs and unpacked layers no image uses, build cache
entries whose image is gone. They are not damage; --repair removes them.`,
		Example: `  berth image validate
  berth image validate --repair
  berth image validate busybox rommelrico/redis`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images, opts.out = args, cmd.OutOrStdout()
			if opts.repair && len(args) > 0 {
				return &ExitError{Code: 125, Err: errors.New("--repair works on the whole store: give no image names")}
			}
			return runImageValidate(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.repair, "repair", false, "Remove the leftovers of killed or interrupted commands, then check")
	return cmd
}

func runImageValidate(ctx context.Context, g *globalOptions, opts *validateOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	if opts.repair {
		removed, err := eng.RepairStore(ctx)
		if removed != nil {
			printLeftovers(opts.out, "Removed", removed)
		}
		if err != nil {
			return fmt.Errorf("repair the store: %w", err)
		}
	}
	results, layoutErr, err := eng.ValidateImages(ctx, opts.images)
	if err != nil {
		return err
	}
	if len(opts.images) == 0 && !opts.repair {
		if left, err := eng.StoreLeftovers(); err == nil && !left.Empty() {
			// Opening the store alone already removed a killed command's
			// temp entries: say so, or a kill would look like it left
			// nothing.
			if left.TempAtOpen > 0 {
				printLeftovers(opts.out, "Removed", &engine.Leftovers{Garbage: &store.Garbage{}, TempAtOpen: left.TempAtOpen})
				left.TempAtOpen = 0
			}
			if !left.Empty() {
				printLeftovers(opts.out, "Leftovers (not damage; `berth image validate --repair` removes them)", left)
			}
		}
	}
	failed := 0
	if layoutErr != nil {
		failed++
		fmt.Fprintf(opts.out, "FAIL %s (the store's layout)\n", eng.Root())
		printProblems(opts.out, layoutErr)
	}
	for _, r := range results {
		if r.Err == nil {
			fmt.Fprintf(opts.out, "ok %s %s\n", r.Name, r.Image.ShortID())
			continue
		}
		failed++
		fmt.Fprintf(opts.out, "FAIL %s %s\n", r.Name, r.Image.ShortID())
		printProblems(opts.out, r.Err)
	}
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d checks failed: remove the damaged images (berth rmi) and load, pull or build them again", failed, len(results)+boolInt(layoutErr != nil))}
	}
	return nil
}

// printLeftovers prints one line per kind of leftover, under a heading,
// or "Removed: nothing" when repairing found nothing.
func printLeftovers(w io.Writer, heading string, left *engine.Leftovers) {
	var lines []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			lines = append(lines, "1 "+one)
		case n > 1:
			lines = append(lines, fmt.Sprintf("%d %s", n, many))
		}
	}
	g := left.Garbage
	add(len(g.Temp)+left.TempAtOpen, "temp entry of a killed command", "temp entries of killed commands")
	add(len(left.BuildContainers), "intermediate container of a killed build", "intermediate containers of killed builds")
	if n := len(g.Blobs) + len(g.Stray); n > 0 {
		add(n, "blob no image uses", "blobs no image uses")
		lines[len(lines)-1] += " (" + humanSize(g.Bytes) + ")"
	}
	add(len(g.Layers), "unpacked layer no image or container uses", "unpacked layers no image or container uses")
	add(len(g.Cache), "build cache entry whose image is gone", "build cache entries whose image is gone")
	if len(lines) == 0 {
		fmt.Fprintln(w, heading+": nothing")
		return
	}
	fmt.Fprintln(w, heading+":")
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
}

func printProblems(w io.Writer, err error) {
	var verr *store.ValidationError
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			fmt.Fprintln(w, "  "+p)
		}
		return
	}
	fmt.Fprintln(w, "  "+err.Error())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// printPrunedImages lists what an image prune removed, as Docker's
// "Deleted Images:" block (image prune and system prune alike).
func printPrunedImages(out io.Writer, report *engine.PruneReport) {
	if report == nil || len(report.Records) == 0 {
		return
	}
	fmt.Fprintln(out, "Deleted Images:")
	printRemoveRecords(out, report.Records, "untagged: ", "deleted: ")
	fmt.Fprintln(out)
}
