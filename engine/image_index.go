package engine

import (
	"errors"

	"github.com/berthkit/berth/engine/store"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// removeIndex removes the multi-platform index listed under name (one
// pushed to `berth registry serve`), as `docker rmi` removes a manifest
// list: the name is untagged and the index deleted; its child manifests and
// their blobs are freed unless an image still uses them. ok is false when
// no index has the name.
func (e *Engine) removeIndex(name string) ([]RemoveRecord, bool, error) {
	if _, err := store.ParseRef(name); err != nil {
		return nil, false, nil // not a name: the caller's error stands
	}
	desc, ok, err := e.Store.DropIndexName(name)
	if err != nil || !ok {
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return nil, false, err
	}
	records := []RemoveRecord{{Untagged: store.Familiar(desc.Annotations[ocispec.AnnotationRefName])}, {Deleted: desc.Digest.String()}}
	if _, err := e.Store.GC(); err != nil {
		return records, true, err
	}
	return records, true, nil
}
