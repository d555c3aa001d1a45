package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/berthkit/berth/engine/registry"
)

// ServeRegistryOptions configure ServeRegistry.
type ServeRegistryOptions struct {
	// AllowPush accepts pushes into the store; the registry is read-only
	// without it.
	AllowPush bool
	// PushAuth is the credential pushes need (a token or an htpasswd file);
	// with nil, no push is accepted.
	PushAuth registry.PushAuth
	// UploadExpiry is how long an abandoned upload is kept (0: the default,
	// registry.DefaultUploadExpiry).
	UploadExpiry time.Duration
	// Log receives a line per request; nil logs nothing.
	Log io.Writer
}

// ServeRegistry serves the store's images as an OCI distribution registry
// on ln until ctx ends (`berth registry serve`), so other machines can pull
// from this one: `berth pull 192.168.1.20:5000/alpine`, or every docker.io
// pull through a registry mirror (docs/registry.md).
func (e *Engine) ServeRegistry(ctx context.Context, ln net.Listener, opts ServeRegistryOptions) error {
	h := registry.NewHandler(e.Store, registry.ServeOptions{AllowPush: opts.AllowPush, PushAuth: opts.PushAuth,
		UploadExpiry: opts.UploadExpiry, Log: opts.Log})
	defer h.Close()
	// Requests expire idle uploads too; the ticker covers a registry that
	// nobody talks to any more.
	sweep := opts.UploadExpiry / 2
	if sweep <= 0 || sweep > time.Minute {
		sweep = time.Minute
	}
	ticker := time.NewTicker(sweep)
	defer ticker.Stop()
	stopSweep := make(chan struct{})
	defer close(stopSweep)
	go func() {
		for {
			select {
			case <-stopSweep:
				return
			case <-ticker.C:
				h.ExpireUploads()
			}
		}
	}()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
