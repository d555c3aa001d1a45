package registry

import (
	"context"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pendingConfig is the image config of a pull, fetched while the layers
// download, as Docker's puller does: the config round trip no longer
// delays the first layer. A layer's diff ID is compared with the config's
// once both are known, before the layer's blob reaches the store, and a
// refused config (or one of another platform) cancels the downloads.
type pendingConfig struct {
	done    chan struct{}
	cfg     ocispec.Image
	fetched int64 // bytes fetched from the registry, for the trace
	err     error
	// afterCancel: the pull was already cancelled when the config failed,
	// so its error is a consequence (of a failed layer, of Ctrl-C).
	afterCancel bool
}

// startConfig fetches, stores and checks the config on a goroutine of its
// own; cancel stops the pull's downloads when it fails. The caller waits
// for done before it ends the pull's store batch.
func (p *puller) startConfig(ctx context.Context, cancel func(), sess *Session, m ocispec.Manifest, familiar string, checkPlatform func(ocispec.Image) error) *pendingConfig {
	pc := &pendingConfig{done: make(chan struct{})}
	go func() {
		defer close(pc.done)
		pc.cfg, pc.fetched, pc.err = p.imageConfig(ctx, sess, m, familiar)
		if pc.err == nil {
			pc.err = checkPlatform(pc.cfg)
		}
		if pc.err != nil {
			pc.afterCancel = ctx.Err() != nil
			cancel()
		}
	}()
	return pc
}

// diffIDs waits for the config and returns its diff IDs, one per layer of
// the manifest (imageConfig checked the count).
func (pc *pendingConfig) diffIDs(ctx context.Context) ([]digest.Digest, error) {
	select {
	case <-pc.done:
	case <-ctx.Done():
		// The config's own failure cancels ctx: it is the error to tell.
		select {
		case <-pc.done:
		default:
			return nil, interrupted(ctx)
		}
	}
	if pc.err != nil {
		return nil, pc.err
	}
	return pc.cfg.RootFS.DiffIDs, nil
}

// diffID returns the wait for layer i's diff ID.
func (pc *pendingConfig) diffID(ctx context.Context, i int) func() (digest.Digest, error) {
	return func() (digest.Digest, error) {
		ids, err := pc.diffIDs(ctx)
		if err != nil {
			return "", err
		}
		return ids[i], nil
	}
}

// anyStored says whether the store holds a blob of one of layers already,
// of the size the manifest gives.
func (p *puller) anyStored(layers []ocispec.Descriptor) bool {
	for _, l := range layers {
		if size, err := p.s.BlobSize(l.Digest); err == nil && size == l.Size {
			return true
		}
	}
	return false
}
