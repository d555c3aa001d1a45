package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// rmiOptions are `berth rmi`'s flags.
type rmiOptions struct {
	force   bool
	noPrune bool
	images  []string
	out     io.Writer
	errOut  io.Writer
}

func newRmiCmd(g *globalOptions) *cobra.Command {
	return newImageRemoveCmd(g, "rmi [OPTIONS] IMAGE [IMAGE...]", nil)
}

// newImageRemoveCmd is `rmi` and `image rm`.
func newImageRemoveCmd(g *globalOptions, use string, aliases []string) *cobra.Command {
	opts := &rmiOptions{}
	cmd := &cobra.Command{
		Use:                   use,
		DisableFlagsInUseLine: true,
		Aliases:               aliases,
		Short:                 "Remove one or more images",
		Long: `Remove images, as docker rmi does. A name removes that name; the image goes
with its last name, and its untagged parents with it (unless --no-prune).
An image ID removes the image, refused if it has several names (unless
--force), if a container uses it (unless --force, and never for a running
one) or if another image is built on it. Blobs nothing needs any more are freed.`,
		Example: `  berth rmi busybox
  berth rmi -f 3f57d9401f8d
  berth rmi $(berth images -q --filter dangling=true)`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runRmi(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "force removal of the image")
	cmd.Flags().BoolVar(&opts.noPrune, "no-prune", false, "do not delete untagged parents")
	return cmd
}

func runRmi(ctx context.Context, g *globalOptions, opts *rmiOptions) error {
	b, done, err := g.openBackend("")
	if err != nil {
		return err
	}
	defer done()
	var errs []error
	for _, name := range opts.images {
		records, err := b.RemoveImage(ctx, name, engine.RemoveImageOptions{Force: opts.force, NoPrune: opts.noPrune})
		printRemoveRecords(opts.out, records, "Untagged: ", "Deleted: ")
		if err != nil {
			errs = append(errs, err)
		}
	}
	return rmiErrors(opts, errs)
}

// printRemoveRecords prints a line per record, in one write for most
// removals: a prune of 10,000 images made 10,000 writes.
func printRemoveRecords(w io.Writer, records []engine.RemoveRecord, untagged, deleted string) {
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, r := range records {
		if r.Untagged != "" {
			bw.WriteString(untagged + r.Untagged + "\n")
		}
		if r.Deleted != "" {
			bw.WriteString(deleted + r.Deleted + "\n")
		}
	}
	bw.Flush()
}

// rmiErrors is how rmi ends, as Docker: one failure is the
// error; several are each printed and berth exits 1.
func rmiErrors(opts *rmiOptions, errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	for _, err := range errs {
		fmt.Fprintln(opts.errOut, "Error:", err)
	}
	return &ExitError{Code: 1, Silent: true}
}
