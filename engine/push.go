package engine

import (
	"context"
	"github.com/google/go-containerregistry/pkg/authn"
	"io"

	"github.com/berthkit/berth/engine/registry"
)

// PushOptions configure Push.
type PushOptions struct {
	// Progress receives Docker's push output: live bars when it is a
	// terminal, plain lines otherwise. Nil is silent.
	Progress io.Writer
	// Quiet prints nothing to Progress (for `push -q`, whose CLI prints
	// the pushed name, as Docker's does).
	Quiet bool
	// InsecureRegistries may be reached over plain HTTP or unverified TLS
	// (--insecure-registry), on top of registries.json.
	InsecureRegistries []string
	// Keychain gives the credentials (an API client's X-Registry-Auth);
	// nil uses the stored ones.
	Keychain authn.Keychain
	// Compression, when set ("gzip" or "zstd"), is the compression every
	// layer is pushed in, recompressing those stored otherwise (the store
	// keeps its blobs); empty pushes the stored blobs as they are.
	Compression string
}

// Push sends the image tagged name (REPO[:TAG], tag defaulting to latest) to
// its registry, as `docker push` does: layers the registry has are skipped
// ("Layer already exists"), the others upload in parallel, then the config
// and the manifest go up byte for byte as stored, so the registry's digest
// is the store's. The registry's name@digest is recorded as a repo digest.
// It emits a push.blob per blob and push.end.
func (e *Engine) Push(ctx context.Context, name string, opts PushOptions) error {
	client, err := e.registryClient(opts.InsecureRegistries, opts.Keychain)
	if err != nil {
		return err
	}
	_, err = client.Push(ctx, e.Store, name, registry.PushOptions{
		Progress: opts.Progress,
		Quiet:    opts.Quiet,
		Emit:     e.Emit,

		Compression: opts.Compression,
	})
	return err
}

// RemoteTags lists the tags of a repository in its registry (for `pull -a`).
func (e *Engine) RemoteTags(ctx context.Context, repository string, insecure []string) ([]string, error) {
	client, err := e.registryClient(insecure)
	if err != nil {
		return nil, err
	}
	return client.RemoteTags(ctx, repository)
}
