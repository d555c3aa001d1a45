package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthkit/berth/daemon"
	"github.com/berthkit/berth/daemon/api"
)

// daemonOptions are `berth daemon`'s flags.
type daemonOptions struct {
	hosts           []string
	group           string
	tls             bool
	tlsCert         string
	tlsKey          string
	tlsCA           string
	maxBuildContext string
	maxContextFiles int64
	maxLoad         string
	shutdownTimeout int
	errOut          io.Writer
}

func newDaemonCmd(g *globalOptions) *cobra.Command {
	opts := &daemonOptions{}
	cmd := &cobra.Command{
		Use:   "daemon [OPTIONS]",
		Short: "Serve Docker's Engine API, so docker and berth --host drive this engine",
		Long: `Run Berth as a server: the "Docker server" of the notes' first picture. Clients
send it a build context and a Dockerfile; it builds, runs and commits with the
same engine the CLI uses in-process. The docker command works against it:

  DOCKER_HOST=unix:///run/berth.sock docker build -t rommelrico/redis:latest .

and so does berth itself with --host (or BERTH_HOST). berth trace follow shows
every client's builds and runs as they happen.

The socket is root's (mode 0660, group --group). TCP is served on loopback
addresses only, unless --tls with a certificate and key is given (with
--tlscacert, clients must present a certificate it signed): whoever can use
the API is root on this machine. Containers the daemon starts stop when it
stops (SIGINT or SIGTERM).`,
		Example: `  berth daemon
  berth daemon --host unix:///run/berth.sock --group docker
  berth daemon --host unix:///run/berth.sock --host tcp://127.0.0.1:2375
  berth daemon --host tcp://0.0.0.0:2376 --tls --tlscert server.pem --tlskey server-key.pem --tlscacert ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.errOut = cmd.ErrOrStderr()
			return runDaemon(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.hosts, "host", "H", []string{api.DefaultHost}, "socket to listen on (repeatable): unix:///path or tcp://127.0.0.1:2375")
	f.StringVarP(&opts.group, "group", "G", "", "group owning the unix socket (name or GID; default root's)")
	f.BoolVar(&opts.tls, "tls", false, "serve TCP over TLS (needed for non-loopback addresses)")
	f.StringVar(&opts.tlsCert, "tlscert", "", "TLS certificate file")
	f.StringVar(&opts.tlsKey, "tlskey", "", "TLS key file")
	f.StringVar(&opts.tlsCA, "tlscacert", "", "require client certificates signed by this CA")
	f.StringVar(&opts.maxBuildContext, "max-build-context", "2g", "largest build context a client may send, counted once decompressed")
	f.Int64Var(&opts.maxContextFiles, "max-build-context-files", daemon.DefaultMaxBuildContextFiles, "most files a build context may hold")
	f.StringVar(&opts.maxLoad, "max-load", "16g", "largest image archive a client may load")
	f.IntVar(&opts.shutdownTimeout, "shutdown-timeout", 10, "seconds a running container gets to stop when the daemon stops, before SIGKILL")
	return cmd
}

func runDaemon(ctx context.Context, g *globalOptions, opts *daemonOptions) error {
	maxContext, err := ramInBytes(opts.maxBuildContext)
	if err != nil {
		return fmt.Errorf("--max-build-context: %w", err)
	}
	maxLoad, err := ramInBytes(opts.maxLoad)
	if err != nil {
		return fmt.Errorf("--max-load: %w", err)
	}
	var tlsConfig *tls.Config
	if opts.tls || opts.tlsCert != "" || opts.tlsKey != "" {
		if tlsConfig, err = daemon.TLSConfig(opts.tlsCert, opts.tlsKey, opts.tlsCA); err != nil {
			return err
		}
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	var listeners []net.Listener
	closeAll := func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}
	for _, host := range opts.hosts {
		ln, err := daemon.Listen(host, daemon.ListenOptions{Group: opts.group, TLS: tlsConfig})
		if err != nil {
			closeAll()
			return err
		}
		listeners = append(listeners, ln)
	}
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(opts.errOut, "%s berth daemon: %s\n", time.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
	}
	if opts.maxContextFiles <= 0 {
		return fmt.Errorf("--max-build-context-files must be at least 1")
	}
	srvOpts := daemon.Options{MaxBuildContext: maxContext, MaxBuildContextFiles: opts.maxContextFiles, MaxLoad: maxLoad, StopTimeout: time.Duration(opts.shutdownTimeout) * time.Second}
	if opts.shutdownTimeout <= 0 {
		srvOpts.StopTimeout = -1
	}
	srvOpts.ErrorLog = logf
	if g.debug {
		srvOpts.Log = logf
	}
	srv := daemon.New(eng, srvOpts)
	errs := make(chan error, len(listeners))
	for i, ln := range listeners {
		logf("API listen on %s", opts.hosts[i])
		go func() { errs <- srv.Serve(ctx, ln) }()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	logf("shutting down: stopping the containers it runs")
	if err := srv.Shutdown(context.Background()); err != nil && serveErr == nil {
		serveErr = err
	}
	closeAll()
	logf("stopped")
	if serveErr != nil && !errors.Is(serveErr, net.ErrClosed) {
		return serveErr
	}
	return nil
}
