package engine

import (
	"context"
	"github.com/google/go-containerregistry/pkg/authn"
	"io"

	"github.com/berthkit/berth/engine/registry"
	"github.com/berthkit/berth/engine/store"
)

// PullOptions configure Pull.
type PullOptions struct {
	// Platform picks the image of a multi-platform index ("linux/amd64",
	// "linux/arm64/v8"); empty means linux/<host architecture>.
	Platform string
	// Progress receives Docker's pull output: live bars when it is a
	// terminal, plain lines otherwise. Nil is silent.
	Progress io.Writer
	// Quiet prints nothing to Progress (for `pull -q`, whose CLI prints
	// the pulled name, as Docker's does).
	Quiet bool
	// InsecureRegistries may be reached over plain HTTP or unverified TLS
	// (--insecure-registry), on top of registries.json.
	InsecureRegistries []string
	// Keychain gives the credentials (an API client's X-Registry-Auth);
	// nil uses the stored ones.
	Keychain authn.Keychain
}

// registryClient builds a client from the root's registries.json (or
// /etc/berth/registries.json) plus extra insecure registries.
func (e *Engine) registryClient(insecure []string, keychain ...authn.Keychain) (*registry.Client, error) {
	return newRegistryClient(e.Root(), insecure, keychain...)
}

func newRegistryClient(root string, insecure []string, keychain ...authn.Keychain) (*registry.Client, error) {
	cfg, err := registry.LoadConfig(root)
	if err != nil {
		return nil, err
	}
	opts := registry.Options{Config: cfg.WithInsecure(insecure...), UserAgent: "berth/" + Version}
	if len(keychain) > 0 && keychain[0] != nil {
		opts.Keychain = keychain[0]
	}
	return registry.NewClient(opts), nil
}

// Pull fetches an image from its registry into the store, as `docker pull`
// does: a multi-platform index resolves to one platform, every blob's digest
// is checked while it streams (and every layer's diff ID against the
// config), layers already stored are not fetched again and the others
// download in parallel. The registry's manifest and config are kept byte for
// byte, so the image ID and digest are the ones Docker shows. The name is
// tagged only once every blob is stored: an interrupted pull leaves no name
// pointing at a partial image, and the next pull reuses the blobs it
// completed. It emits pull.start, a pull.blob per blob and pull.end.
func (e *Engine) Pull(ctx context.Context, name string, opts PullOptions) (*store.Image, error) {
	client, err := e.registryClient(opts.InsecureRegistries, opts.Keychain)
	if err != nil {
		return nil, err
	}
	return client.Pull(ctx, e.Store, name, registry.PullOptions{
		Platform: opts.Platform,
		Progress: opts.Progress,
		Quiet:    opts.Quiet,
		Emit:     e.Emit,
	})
}
