package engine

import (
	"context"
	"fmt"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
)

// LowerDirs unpacks the image's layers that are not unpacked yet and returns
// their directories top first, as overlayfs wants its lowerdir list. Each
// layer is unpacked once into layers/<chainID>, with its diff ID checked
// while it streams.
func (e *Engine) LowerDirs(ctx context.Context, img *store.Image) ([]string, error) {
	chains := img.ChainIDs()
	diffIDs := img.DiffIDs()
	if len(img.Manifest.Layers) != len(diffIDs) {
		return nil, fmt.Errorf("image %s: manifest has %d layers, config has %d diff IDs: the image is damaged, remove it and pull or build it again",
			img.ShortID(), len(img.Manifest.Layers), len(diffIDs))
	}
	dirs := make([]string, len(chains))
	for i, chain := range chains {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		desc := img.Manifest.Layers[i]
		diffID := diffIDs[i]
		err := e.Store.CreateLayerDir(chain, func(dir string) error {
			return e.applyBlob(ctx, dir, desc.Digest, diffID)
		})
		if err != nil {
			return nil, fmt.Errorf("image %s layer %d: %w", img.ShortID(), i+1, err)
		}
		dirs[len(chains)-1-i] = e.Store.LayerDir(chain)
	}
	return dirs, nil
}

func (e *Engine) applyBlob(ctx context.Context, dir string, blob, diffID digest.Digest) error {
	f, err := e.Store.OpenBlob(blob)
	if err != nil {
		return fmt.Errorf("layer blob %s is missing from the store: %w", blob, err)
	}
	defer f.Close()
	_, err = layer.Apply(ctx, dir, f, layer.ApplyOptions{
		Whiteouts:    layer.WhiteoutOverlay,
		ExpectDiffID: diffID,
	})
	// The scratch directory's path means nothing to the user.
	return unwrapApply(err)
}
