package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/registry"
	"github.com/distribution/reference"
	"github.com/spf13/cobra"
)

func newRegistryCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Serve this machine's images as a registry",
		Example: `  berth registry serve
  berth registry serve --addr :5000 --allow-push`,
		Args: requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRegistryServeCmd(g))
	return cmd
}

// registryServeOptions are `berth registry serve`'s flags.
type registryServeOptions struct {
	addr         string
	allowPush    bool
	htpasswd     string
	uploadExpiry time.Duration
	quiet        bool
	out          io.Writer
}

// registryTokenEnv sets the push token instead of a random one (scripts).
const registryTokenEnv = "BERTH_REGISTRY_TOKEN"

func newRegistryServeCmd(g *globalOptions) *cobra.Command {
	opts := &registryServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve [OPTIONS]",
		Short: "Serve the store's images as an OCI distribution registry",
		Long: `Serve the images in the store as a registry, so other machines can pull them
when the venue's internet fails: attendees run
  berth pull 192.168.1.20:5000/alpine --insecure-registry 192.168.1.20:5000
or set the address as a Docker Hub mirror once, in registries.json:
  {"registry-mirrors": ["http://192.168.1.20:5000"]}
and keep typing berth pull alpine (docs/registry.md).

It listens on 127.0.0.1:5000 unless --addr says otherwise: give --addr :5000
to serve the room. Pulls are anonymous. The registry is read-only unless
--allow-push, and even then a push needs a credential: the token printed at
start (berth login HOST -u berth, the token as password; set it with
$BERTH_REGISTRY_TOKEN) or a user of an htpasswd file of bcrypt hashes
(--htpasswd, made with htpasswd -B), so nobody in the room can overwrite
library/busybox. Pushed images are tagged in the store under the
repository's name (a push of alpine:3.20 lists as alpine:3.20). Uploads left
unfinished are removed after --upload-expiry. It serves plain HTTP: stop it
with Ctrl-C.`,
		Example: `  berth registry serve
  berth registry serve --addr :5000
  berth registry serve --addr :5000 --allow-push --htpasswd ./htpasswd`,
		Args: requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.out = cmd.OutOrStdout()
			return runRegistryServe(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.addr, "addr", "127.0.0.1:5000", "address to listen on (host:port; \":5000\" is every interface)")
	f.BoolVar(&opts.allowPush, "allow-push", false, "accept pushes into the store (with a credential)")
	f.StringVar(&opts.htpasswd, "htpasswd", "", "with --allow-push: accept the users of this htpasswd file (bcrypt) instead of a token")
	f.DurationVar(&opts.uploadExpiry, "upload-expiry", registry.DefaultUploadExpiry, "remove an unfinished upload idle for this long")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "do not log requests")
	return cmd
}

func runRegistryServe(ctx context.Context, g *globalOptions, opts *registryServeOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another registry using the port? choose one with --addr)", opts.addr, err)
	}
	if opts.uploadExpiry <= 0 {
		ln.Close()
		return fmt.Errorf("invalid --upload-expiry %s: give a positive duration such as 30m", opts.uploadExpiry)
	}
	auth, token, err := registryPushAuth(opts)
	if err != nil {
		ln.Close()
		return err
	}
	mode := "read-only"
	if opts.allowPush {
		mode = "accepting pushes with a credential"
	}
	fmt.Fprintf(opts.out, "Serving the images of %s on %s (%s, plain HTTP)\n", eng.Root(), ln.Addr(), mode)
	if token != "" {
		fmt.Fprintf(opts.out, "Push token: %s\n", token)
		fmt.Fprintf(opts.out, "Pushers log in with: berth login %s -u berth --password-stdin (and paste the token)\n", loginHost(ln.Addr()))
	}
	if hosts := pullHosts(ln.Addr()); len(hosts) > 0 {
		example := "alpine"
		if names := servedNames(eng); len(names) > 0 {
			example = names[0]
		}
		fmt.Fprintln(opts.out, "Other machines pull with:")
		for _, h := range hosts {
			fmt.Fprintf(opts.out, "  berth pull %s/%s --insecure-registry %s\n", h, example, h)
		}
	}
	var log io.Writer
	if !opts.quiet {
		log = opts.out
	}
	return eng.ServeRegistry(ctx, ln, engine.ServeRegistryOptions{AllowPush: opts.allowPush, PushAuth: auth,
		UploadExpiry: opts.uploadExpiry, Log: log})
}

// registryPushAuth is the credential pushes need: the users of --htpasswd,
// or a token ($BERTH_REGISTRY_TOKEN, else random) returned to be printed.
func registryPushAuth(opts *registryServeOptions) (registry.PushAuth, string, error) {
	if !opts.allowPush {
		if opts.htpasswd != "" {
			return nil, "", fmt.Errorf("--htpasswd only matters with --allow-push")
		}
		return nil, "", nil
	}
	if opts.htpasswd != "" {
		f, err := os.Open(opts.htpasswd)
		if err != nil {
			return nil, "", fmt.Errorf("--htpasswd: %w", err)
		}
		defer f.Close()
		h, err := registry.ParseHtpasswd(f)
		if err != nil {
			return nil, "", fmt.Errorf("--htpasswd %s: %w", opts.htpasswd, err)
		}
		return h, "", nil
	}
	token := os.Getenv(registryTokenEnv)
	if token == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, "", fmt.Errorf("make a push token: %w", err)
		}
		token = hex.EncodeToString(b[:])
	}
	return registry.TokenAuth{Token: token}, token, nil
}

// loginHost is the address pushers log in to.
func loginHost(addr net.Addr) string {
	if hosts := pullHosts(addr); len(hosts) > 0 {
		return hosts[0]
	}
	return addr.String()
}

// pullHosts lists host:port forms under which other machines reach addr:
// the machine's non-loopback addresses when listening on every interface.
func pullHosts(addr net.Addr) []string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil
	}
	port := fmt.Sprint(tcp.Port)
	if !tcp.IP.IsUnspecified() {
		return []string{net.JoinHostPort(tcp.IP.String(), port)}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok || ipnet.IP.IsLoopback() || ipnet.IP.To4() == nil || ipnet.IP.IsLinkLocalUnicast() {
			continue
		}
		out = append(out, net.JoinHostPort(ipnet.IP.String(), port))
	}
	return out
}

// servedNames lists the repository paths the served registry knows, Docker
// Hub names first in their short form ("alpine").
func servedNames(eng *engine.Engine) []string {
	names, err := eng.ImageNames()
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var hub, others []string
	for _, r := range names {
		named, err := reference.ParseNormalizedNamed(r)
		if err != nil {
			continue
		}
		if reference.Domain(named) == "docker.io" {
			if name := reference.FamiliarName(named); !seen[name] {
				seen[name] = true
				hub = append(hub, name)
			}
		} else if path := reference.Path(named); !seen[path] {
			seen[path] = true
			others = append(others, path)
		}
	}
	sort.Strings(hub)
	sort.Strings(others)
	return append(hub, others...)
}
