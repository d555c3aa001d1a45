package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// saveOptions are `berth save`'s flags.
type saveOptions struct {
	output string
	images []string
	out    io.Writer
}

func newSaveCmd(g *globalOptions) *cobra.Command {
	return newImageSaveCmd(g)
}

func newImageSaveCmd(g *globalOptions) *cobra.Command {
	opts := &saveOptions{}
	cmd := &cobra.Command{
		Use:                   "save [OPTIONS] IMAGE [IMAGE...]",
		DisableFlagsInUseLine: true,
		Short:                 "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Long: `Write images to one tar archive that is both an OCI image layout and a
docker-archive, so berth load, docker load, podman load and skopeo
(oci-archive: and docker-archive:) all accept it. A repository name without
a tag saves all its tags; an image ID saves the image without a name.`,
		Example: `  berth save -o busybox.tar busybox
  berth save busybox rommelrico/redis | gzip > images.tar.gz
  skopeo inspect oci-archive:busybox.tar:docker.io/library/busybox:latest`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images, opts.out = args, cmd.OutOrStdout()
			return runSave(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "", "write to a file, instead of STDOUT")
	return cmd
}

func runSave(ctx context.Context, g *globalOptions, opts *saveOptions) error {
	if opts.output == "" {
		if f, ok := opts.out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	if opts.output == "" {
		return eng.Save(ctx, opts.out, opts.images)
	}
	// Write beside the target and rename, so a failed save leaves no half file.
	dir := filepath.Dir(opts.output)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(opts.output)+".tmp-")
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := eng.Save(ctx, tmp, opts.images); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	if err := os.Rename(tmp.Name(), opts.output); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	ok = true
	return nil
}
