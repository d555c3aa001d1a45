package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// loadOptions are `berth load`'s flags.
type loadOptions struct {
	input string
	quiet bool
	stdin io.Reader
	out   io.Writer
}

func newLoadCmd(g *globalOptions) *cobra.Command {
	return newImageLoadCmd(g)
}

func newImageLoadCmd(g *globalOptions) *cobra.Command {
	opts := &loadOptions{}
	cmd := &cobra.Command{
		Use:                   "load [OPTIONS]",
		DisableFlagsInUseLine: true,
		Short:                 "Load an image from a tar archive or STDIN",
		Long: `Load images from an archive made by berth save, docker save, podman save or
skopeo (docker-archive or OCI layout; plain, gzip, zstd or bzip2). Every
blob is checked against its digest and every layer against its diff ID
before anything is added; a damaged archive changes nothing.`,
		Example: `  berth load -i busybox.tar
  gunzip -c images.tar.gz | berth load`,
		Args: requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdin, opts.out = cmd.InOrStdin(), cmd.OutOrStdout()
			return runLoad(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.input, "input", "i", "", "read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "suppress the load output")
	return cmd
}

func runLoad(ctx context.Context, g *globalOptions, opts *loadOptions) error {
	r := opts.stdin
	if opts.input != "" {
		f, err := os.Open(opts.input)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer f.Close()
		r = f
	} else if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return errors.New("requested load from stdin, but stdin is empty")
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	loaded, err := eng.Load(ctx, r)
	if err != nil {
		return err
	}
	for _, l := range loaded {
		if l.Replaced != "" {
			fmt.Fprintf(opts.out, "The image %s already exists, renaming the old one with ID %s to empty string\n", l.Ref, l.Replaced)
		}
		if l.Ref != "" {
			fmt.Fprintf(opts.out, "Loaded image: %s\n", l.Ref)
		} else {
			fmt.Fprintf(opts.out, "Loaded image ID: %s\n", l.ID)
		}
	}
	return nil
}
