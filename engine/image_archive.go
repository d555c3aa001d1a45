package engine

import (
	"context"
	"io"

	"github.com/berthkit/berth/engine/imagearchive"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
)

// AnnotationContainerdName is the index annotation containerd (and Docker
// with the containerd image store) reads an image's full name from.
const AnnotationContainerdName = imagearchive.AnnotationContainerdName

// Save writes the named images as one tar that is at the same time an OCI
// image layout and a docker-archive (see imagearchive.Save).
func (e *Engine) Save(ctx context.Context, w io.Writer, names []string) error {
	return imagearchive.Save(ctx, e.Store, w, names)
}

// LoadedImage is one name (or one unnamed image) a load brought in.
type LoadedImage struct {
	ID digest.Digest
	// Ref is the familiar name ("busybox:latest"), empty for an image
	// loaded without a name.
	Ref string
	// Replaced is the image that had the name before, if another one did.
	Replaced digest.Digest
}

// Load reads an image archive (docker-archive or OCI layout tar; plain,
// gzip, zstd or bzip2) from r and adds its images to the store, all of
// them verified before any is listed (see imagearchive.Load), and emits a
// tag event for each name it brought.
func (e *Engine) Load(ctx context.Context, r io.Reader) ([]LoadedImage, error) {
	listed, err := imagearchive.Load(ctx, e.Store, r)
	if err != nil {
		return nil, err
	}
	loaded := make([]LoadedImage, 0, len(listed))
	for _, l := range listed {
		loaded = append(loaded, LoadedImage{ID: l.ID, Ref: familiarOrEmpty(l.Ref), Replaced: l.Replaced})
	}
	for _, l := range listed {
		if l.Ref != "" {
			e.emitTag(l.ID, l.Ref)
		}
	}
	return loaded, nil
}

func familiarOrEmpty(full string) string {
	if full == "" {
		return ""
	}
	return store.Familiar(full)
}
