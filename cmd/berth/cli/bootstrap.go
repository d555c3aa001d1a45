package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

func newBootstrapCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "bootstrap",
		DisableFlagsInUseLine: true,
		Short:                 "Make a base image without a registry (busybox, Debian)",
		Long: `Make base images on this machine, so a workshop works with no registry and
no Wi-Fi: busybox from the host's static busybox, Debian with mmdebstrap
from a Debian mirror.`,
		Example: `  berth bootstrap busybox
  berth bootstrap busybox --from ./busybox-arm64 busybox:arm64
  berth bootstrap debian --suite bookworm`,
		Args: requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newBootstrapBusyboxCmd(g), newBootstrapDebianCmd(g))
	return cmd
}

// bootstrapBusyboxOptions are `bootstrap busybox`'s flags.
type bootstrapBusyboxOptions struct {
	from string
	ref  string
	out  io.Writer
}

func newBootstrapBusyboxCmd(g *globalOptions) *cobra.Command {
	opts := &bootstrapBusyboxOptions{}
	cmd := &cobra.Command{
		Use:                   "busybox [OPTIONS] [REPOSITORY[:TAG]]",
		DisableFlagsInUseLine: true,
		Short:                 "Make busybox:latest from a static busybox binary",
		Long: `Make a one-layer busybox image from a static busybox: /bin/busybox with a
link for every applet, /etc/passwd, /etc/group, /tmp (1777), /root (0700)
and the usual directories, all owned by root, CMD ["sh"]. The same busybox
always gives the same image ID (times come from SOURCE_DATE_EPOCH or the
binary's mtime). The default binary is the host's, which must be static:
apt-get install busybox-static.`,
		Example: `  berth bootstrap busybox
  berth bootstrap busybox --from /opt/busybox mybox:1.36`,
		Args: requireArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ref = args[0]
			}
			opts.out = cmd.OutOrStdout()
			return runBootstrapBusybox(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.from, "from", "", "the static busybox binary to use (default: the host's)")
	return cmd
}

func runBootstrapBusybox(ctx context.Context, g *globalOptions, opts *bootstrapBusyboxOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	res, err := eng.BootstrapBusybox(ctx, engine.BootstrapBusyboxOptions{Ref: opts.ref, From: opts.from})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.out, "%s from %s, %d applets\n", res.Version, res.Source, res.Applets)
	fmt.Fprintf(opts.out, "Successfully built %s\n", res.Image.ShortID())
	for _, r := range sortedFamiliar(res.Image.Refs) {
		fmt.Fprintf(opts.out, "Successfully tagged %s\n", r)
	}
	return nil
}

// bootstrapDebianOptions are `bootstrap debian`'s flags.
type bootstrapDebianOptions struct {
	suite  string
	mirror string
	cache  string
	ref    string
	out    io.Writer
	errOut io.Writer
}

func newBootstrapDebianCmd(g *globalOptions) *cobra.Command {
	opts := &bootstrapDebianOptions{}
	cmd := &cobra.Command{
		Use:                   "debian [OPTIONS] [REPOSITORY[:TAG]]",
		DisableFlagsInUseLine: true,
		Short:                 "Make a Debian base image with mmdebstrap",
		Long: `Make a Debian base image (variant minbase, CMD ["bash"]) with mmdebstrap,
from the host's Debian mirror. Needs mmdebstrap (apt-get install mmdebstrap)
and the mirror; the default name is debian:SUITE.

Reproducible: every time stamp is the snapshot's (the Date of the suite's
Release file, or SOURCE_DATE_EPOCH), so the same Debian snapshot gives the
same image ID on any machine. mmdebstrap's tarball is cached (--cache, default
$BERTH_BOOTSTRAP_CACHE or ~/.cache/berth/mmdebstrap): a second bootstrap of
the same snapshot, into any root, downloads nothing.`,
		Example: `  berth bootstrap debian
  berth bootstrap debian --suite trixie debian:testing`,
		Args: requireArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ref = args[0]
			}
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runBootstrapDebian(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.suite, "suite", "bookworm", "the Debian release")
	cmd.Flags().StringVar(&opts.mirror, "mirror", "", "the Debian mirror (default: the host's apt sources)")
	cmd.Flags().StringVar(&opts.cache, "cache", BootstrapCacheDir(), "keep mmdebstrap's tarballs here (\"\" keeps none)")
	return cmd
}

func runBootstrapDebian(ctx context.Context, g *globalOptions, opts *bootstrapDebianOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	res, err := eng.BootstrapDebian(ctx, engine.BootstrapDebianOptions{Ref: opts.ref, Suite: opts.suite, Mirror: opts.mirror, CacheDir: opts.cache, Progress: opts.errOut})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.out, "Debian %s from %s\n", res.Version, res.Source)
	fmt.Fprintf(opts.out, "Successfully built %s\n", res.Image.ShortID())
	for _, r := range sortedFamiliar(res.Image.Refs) {
		fmt.Fprintf(opts.out, "Successfully tagged %s\n", r)
	}
	return nil
}

// BootstrapCacheDir is where mmdebstrap's tarballs are kept:
// $BERTH_BOOTSTRAP_CACHE, else the user's cache directory.
func BootstrapCacheDir() string {
	if v, ok := os.LookupEnv("BERTH_BOOTSTRAP_CACHE"); ok {
		return v
	}
	return engine.DefaultBootstrapCache()
}
