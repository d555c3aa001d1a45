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
	// Log receives a line per request; nil logs nothing.
	Log io.Writer
}

// ServeRegistry serves the store's images as an OCI distribution registry
// on ln until ctx ends (`berth registry serve`), so other machines can pull
// from this one: `berth pull 192.168.1.20:5000/alpine`, or every docker.io
// pull through a registry mirror (docs/registry.md).
func (e *Engine) ServeRegistry(ctx context.Context, ln net.Listener, opts ServeRegistryOptions) error {
	h := registry.NewHandler(e.Store, registry.ServeOptions{AllowPush: opts.AllowPush, Log: opts.Log})
	defer h.Close()
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
