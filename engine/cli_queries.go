package engine

import "github.com/berthkit/berth/engine/store"

// Queries the CLI asks of the store, so that nothing outside engine reaches
// into Engine.Store.

// LookupImage finds an image by name or ID, as the store resolves them
// (store.ErrNotFound when it has none).
func (e *Engine) LookupImage(nameOrID string) (*store.Image, error) {
	return e.Store.Image(nameOrID)
}

// ImageNames lists every name the store's images carry ("docker.io/library/
// busybox:latest"), in no particular order: push --all-tags and the served
// registry's catalogue pick theirs from it.
func (e *Engine) ImageNames() ([]string, error) {
	images, err := e.Store.Images()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, img := range images {
		names = append(names, img.Refs...)
	}
	return names, nil
}

// VolumeSize is the bytes a volume's regular files take (0 for a volume
// that does not exist).
func (e *Engine) VolumeSize(name string) int64 {
	return e.Store.VolumeSize(name)
}
