package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
	"github.com/spf13/cobra"
)

// pullOptions are `berth pull`'s arguments.
type pullOptions struct {
	name      string
	allTags   bool
	platform  string
	quiet     bool
	insecure  []string
	traceFile string
	out       io.Writer
}

func newPullCmd(g *globalOptions) *cobra.Command {
	opts := &pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Long: `Download an image from Docker Hub or any OCI registry into the store. A
multi-platform image resolves to linux/<this machine's architecture> unless
--platform says otherwise. Every blob is checked against its digest while it
streams; layers already in the store are not downloaded again ("Already
exists"); an interrupted pull leaves no half image and the next one resumes
from the complete layers.

Credentials come from ~/.docker/config.json and its credential helpers (see
berth login). localhost and 127.0.0.0/8 may be plain HTTP; other registries
need --insecure-registry or registries.json in the berth root (docs/registry.md),
which also sets Docker Hub mirrors.`,
		Example: `  berth pull alpine
  berth pull alpine:3.20
  berth pull --platform linux/arm64 alpine
  berth pull localhost:5000/myapp:1.0
  berth pull 192.168.1.20:5000/alpine --insecure-registry 192.168.1.20:5000`,
		Args: requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name, opts.out = args[0], cmd.OutOrStdout()
			return runPull(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.allTags, "all-tags", "a", false, "download all tagged images in the repository")
	f.StringVar(&opts.platform, "platform", "", `set platform if server is multi-platform capable ("linux/arm64")`)
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "suppress verbose output")
	stringArrayVarP(f, &opts.insecure, "insecure-registry", "", "allow plain HTTP or unverified TLS to this registry (host:port or CIDR)")
	f.StringVar(&opts.traceFile, "trace", "", "record the pull's events as JSON lines in FILE")
	return cmd
}

func runPull(ctx context.Context, g *globalOptions, opts *pullOptions) error {
	b, done, err := g.openBackend(opts.traceFile)
	if err != nil {
		return err
	}
	defer done()
	if err := b.AllowInsecure(opts.insecure); err != nil {
		return err
	}
	pull := func(name string) error {
		if !opts.quiet {
			sayDefaultTag(opts.out, name)
		}
		err := b.Pull(ctx, name, engine.PullOptions{
			Platform:           opts.platform,
			Progress:           opts.out,
			Quiet:              opts.quiet,
			InsecureRegistries: opts.insecure,
		})
		if err != nil {
			return err
		}
		// The full name, as Docker's CLI prints it after the engine's lines
		// (and alone with -q).
		ref, err := store.ParseRef(name)
		if err != nil {
			return err
		}
		fmt.Fprintln(opts.out, ref.String())
		return nil
	}
	if !opts.allTags {
		return pull(opts.name)
	}
	named, err := reference.ParseNormalizedNamed(opts.name)
	if err != nil {
		return fmt.Errorf("invalid reference format: %w", err)
	}
	if !reference.IsNameOnly(named) {
		return fmt.Errorf("tag can't be used with --all-tags/-a")
	}
	tags, err := b.RegistryTags(ctx, named.Name(), opts.insecure)
	if err != nil {
		return err
	}
	for _, tag := range tags {
		if err := pull(named.Name() + ":" + tag); err != nil {
			return err
		}
	}
	return nil
}

// sayDefaultTag says, as Docker's CLI does (not its engine: a build's FROM
// does not), that a name without a tag means :latest.
func sayDefaultTag(out io.Writer, name string) {
	if named, err := reference.ParseNormalizedNamed(name); err == nil && reference.IsNameOnly(named) {
		fmt.Fprintln(out, "Using default tag: latest")
	}
}
