package imagearchive

import (
	"bytes"
	"context"
	"io"
	"os"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Target is what Load writes to: staging space, blobs, and one index
// update that lists the images with their names.
type Target interface {
	Images() ([]*store.Image, error)
	TempDir(pattern string) (string, error)
	HasBlob(d digest.Digest) bool
	VerifyBlob(d digest.Digest, size int64) error
	PutBlob(r io.Reader, want digest.Digest, wantSize int64) (digest.Digest, int64, error)
	DeleteBlob(d digest.Digest) error
	ListImages(images []store.NewImage) ([]store.Listed, error)
}

// Load reads an image archive (docker-archive or OCI layout tar, as `berth
// save`, `docker save`, `podman save` and skopeo write them; plain, gzip,
// zstd or bzip2) from r and adds its images to the store. Everything is
// staged under the store's tmp/ and verified first — every blob against its
// digest and size, every layer against its diff ID — and the images and
// their names appear in index.json in one atomic update at the end. A
// truncated, corrupt or foreign archive, a full disk or a kill leaves the
// store as it was (a kill leaves staging files that the next command
// removes). It returns what was listed: one entry per name (full names),
// one for an image loaded without a name.
func Load(ctx context.Context, t Target, r io.Reader) ([]store.Listed, error) {
	stage, err := stageArchive(ctx, t, r)
	if stage != nil {
		defer os.RemoveAll(stage.dir)
	}
	if err != nil {
		return nil, err
	}
	plan, err := stage.plan(ctx)
	if err != nil {
		return nil, err
	}
	return commit(ctx, t, plan)
}

// blobPutter stores a load's blobs, remembering the ones it added so a
// failed load removes them again.
type blobPutter struct {
	t Target
	// listed are the blobs a listed image names: verified when it came in.
	listed map[digest.Digest]bool
	added  []digest.Digest
}

func (p *blobPutter) put(r io.Reader, d digest.Digest, size int64) error {
	if p.t.HasBlob(d) {
		// A copy no listed image vouches for (left by a killed pull or a
		// deleted image) is reused only if its bytes still match its name;
		// otherwise the archive's copy replaces it.
		if p.listed[d] || p.t.VerifyBlob(d, size) == nil {
			return nil
		}
		if err := p.t.DeleteBlob(d); err != nil {
			return err
		}
	}
	if _, _, err := p.t.PutBlob(r, d, size); err != nil {
		return err
	}
	p.added = append(p.added, d)
	return nil
}

func (p *blobPutter) putFile(f stagedFile) error {
	file, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	return p.put(file, f.digest, f.size)
}

// storeImage puts an image's layers, config and manifest.
func (p *blobPutter) storeImage(ctx context.Context, img *plannedImage) error {
	for _, l := range img.layers {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		if err := p.putFile(l); err != nil {
			return Error("load", err)
		}
	}
	if err := p.put(bytes.NewReader(img.configData), img.id, int64(len(img.configData))); err != nil {
		return Error("load", err)
	}
	if err := p.put(bytes.NewReader(img.manifestData), img.manifestDigest, int64(len(img.manifestData))); err != nil {
		return Error("load", err)
	}
	return nil
}

// commit puts the verified blobs into the store and lists the images and
// names in one index update. On failure the blobs it added are removed.
func commit(ctx context.Context, t Target, p *loadPlan) (loaded []store.Listed, err error) {
	existing, err := t.Images()
	if err != nil {
		return nil, err
	}
	putter := &blobPutter{t: t, listed: map[digest.Digest]bool{}}
	manifestOfConfig := map[digest.Digest]digest.Digest{}
	for _, img := range existing {
		putter.listed[img.ManifestDigest], putter.listed[img.ID] = true, true
		for _, l := range img.Manifest.Layers {
			putter.listed[l.Digest] = true
		}
		if _, ok := manifestOfConfig[img.ID]; !ok {
			manifestOfConfig[img.ID] = img.ManifestDigest
		}
	}
	defer func() {
		if err != nil {
			for _, d := range putter.added {
				_ = t.DeleteBlob(d)
			}
		}
	}()
	for _, img := range p.images {
		if m, ok := manifestOfConfig[img.id]; ok {
			// The store has this image (same config) already: keep its
			// manifest, so the image keeps one identity.
			img.manifestDigest = m
			continue
		}
		if err := putter.storeImage(ctx, img); err != nil {
			return nil, err
		}
		manifestOfConfig[img.id] = img.manifestDigest
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	crashpoint.Hit("load.blobs-stored")
	images := make([]store.NewImage, 0, len(p.images))
	for _, img := range p.images {
		images = append(images, store.NewImage{
			Manifest: ocispec.Descriptor{MediaType: img.mediaType, Digest: img.manifestDigest, Size: int64(len(img.manifestData))},
			ID:       img.id, LayerSizes: img.layerSizes, Refs: img.refs,
		})
	}
	loaded, err = t.ListImages(images)
	if err != nil {
		return nil, Error("load", err)
	}
	return loaded, nil
}
