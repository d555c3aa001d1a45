package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// importOptions are `berth import`'s flags.
type importOptions struct {
	source   string
	ref      string
	changes  []string
	message  string
	platform string
	stdin    io.Reader
	out      io.Writer
}

func newImportCmd(g *globalOptions) *cobra.Command {
	opts := &importOptions{}
	cmd := &cobra.Command{
		Use:                   "import [OPTIONS] file|- [REPOSITORY[:TAG]]",
		DisableFlagsInUseLine: true,
		Short:                 "Import the contents from a tarball to create a filesystem image",
		Long: `Make a one-layer image from a tarball of a root file system (plain, gzip,
zstd or bzip2), as docker import does. The tarball is unpacked safely and
written back as a normalised layer. --change applies Dockerfile instructions
(CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR,
HEALTHCHECK, STOPSIGNAL) to the new image's config. Prints the image ID.`,
		Example: `  berth import rootfs.tar myimage:1.0
  tar -C rootfs -c . | berth import -c 'CMD ["/bin/sh"]' - myimage
  berth import -m "from the lab machine" rootfs.tar.gz`,
		Args: requireArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.source = args[0]
			if len(args) == 2 {
				opts.ref = args[1]
			}
			opts.stdin, opts.out = cmd.InOrStdin(), cmd.OutOrStdout()
			return runImport(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	stringArrayVarP(f, &opts.changes, "change", "c", "apply a Dockerfile instruction to the created image")
	f.StringVarP(&opts.message, "message", "m", "", "set a commit message for the imported image")
	f.StringVar(&opts.platform, "platform", "", "set the platform (only this machine's, linux/"+runtime.GOARCH+")")
	return cmd
}

func runImport(ctx context.Context, g *globalOptions, opts *importOptions) error {
	if strings.HasPrefix(opts.source, "http://") || strings.HasPrefix(opts.source, "https://") {
		return fmt.Errorf("berth import does not download (a workshop must work offline): fetch %s yourself, then run berth import FILE", opts.source)
	}
	if opts.platform != "" && opts.platform != "linux/"+runtime.GOARCH && opts.platform != "linux" {
		return fmt.Errorf("--platform %s: berth imports images for this machine only (linux/%s)", opts.platform, runtime.GOARCH)
	}
	r := opts.stdin
	if opts.source != "-" {
		f, err := os.Open(opts.source)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r = f
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	// As Docker's CLI, which sends a file as its stdin, the comment says "-".
	img, err := eng.Import(ctx, r, engine.ImportOptions{Ref: opts.ref, Changes: opts.changes, Message: opts.message, Source: "-"})
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.out, img.ID)
	return nil
}
