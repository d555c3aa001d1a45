package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/spf13/cobra"
)

// pushOptions are `berth push`'s arguments.
type pushOptions struct {
	name      string
	allTags   bool
	quiet     bool
	insecure  []string
	traceFile string
	// compression is --compression: empty pushes the stored blobs as they are.
	compression string
	out         io.Writer
}

func newPushCmd(g *globalOptions) *cobra.Command {
	opts := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Long: `Upload an image to the registry its name points at (Docker Hub for names
without a registry host). Layers the registry already has are not sent again;
the manifest goes up byte for byte, so the digest printed at the end is the
image's digest in the store too.

Log in first with berth login when the registry wants credentials.`,
		Example: `  berth tag myapp localhost:5000/myapp:1.0
  berth push localhost:5000/myapp:1.0
  berth push --all-tags localhost:5000/myapp`,
		Args: requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name, opts.out = args[0], cmd.OutOrStdout()
			return runPush(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.allTags, "all-tags", "a", false, "push all tags of the repository")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "suppress verbose output")
	stringArrayVarP(f, &opts.insecure, "insecure-registry", "", "allow plain HTTP or unverified TLS to this registry (host:port or CIDR)")
	f.StringVar(&opts.traceFile, "trace", "", "record the push's events as JSON lines in FILE")
	f.StringVar(&opts.compression, "compression", "", `push every layer in this compression, "gzip" or "zstd" (as BuildKit's compression=zstd,force-compression=true), recompressing layers stored otherwise; default: as stored`)
	return cmd
}

func runPush(ctx context.Context, g *globalOptions, opts *pushOptions) error {
	if opts.compression != "" {
		if _, err := layerCompression(opts.compression); err != nil {
			return err
		}
	}
	b, done, err := g.openBackend(opts.traceFile)
	if err != nil {
		return err
	}
	defer done()
	if err := b.AllowInsecure(opts.insecure); err != nil {
		return err
	}
	names := []string{opts.name}
	if opts.allTags {
		all, err := b.ImageNames(ctx)
		if err != nil {
			return err
		}
		if names, err = repoTags(all, opts.name); err != nil {
			return err
		}
	}
	for _, name := range names {
		if !opts.quiet {
			sayDefaultTag(opts.out, name)
		}
		err := b.Push(ctx, name, engine.PushOptions{
			Progress:           opts.out,
			Quiet:              opts.quiet,
			InsecureRegistries: opts.insecure,
			Compression:        opts.compression,
		})
		if err != nil {
			return err
		}
		if opts.quiet {
			if err := printPushedName(opts.out, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// printPushedName is push -q's one line: the full name that was pushed.
func printPushedName(out io.Writer, name string) error {
	ref, err := store.ParseRef(name)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, ref.String())
	return nil
}
