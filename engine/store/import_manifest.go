package store

import (
	"fmt"
	"slices"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's media types, which registries serve beside OCI's. A Docker schema2
// manifest has the same JSON fields as an OCI manifest, so the store lists
// both kinds alike.
// The others are in validate.go.
const (
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// AnnotationRepoDigest is the name@digest a registry knows the image by
// ("docker.io/library/alpine@sha256:..."): the digest the tag resolved to
// when the image was pulled (an index's digest for a multi-platform image),
// or the manifest's digest once pushed. `images --digests` and `inspect`'s
// RepoDigests show it.
const AnnotationRepoDigest = "org.berthkit.image.repo-digest"

// ImportOptions describe a manifest that comes from elsewhere.
type ImportOptions struct {
	// MediaType of the manifest: OCI's or Docker's schema2 image manifest.
	// Empty means the manifest's own mediaType field.
	MediaType string
	// Ref is the full name to list the image under
	// ("docker.io/library/alpine:latest", or name@sha256:... for a pull by
	// digest). It moves from any image that had it. Empty lists the image
	// untagged.
	Ref string
	// RepoDigest is recorded as AnnotationRepoDigest.
	RepoDigest string
	// LayerSizes are the uncompressed sizes of the layers, base first
	// (AnnotationLayerSizes); their sum is the image's size. Nil when not
	// known.
	LayerSizes []int64
}

// ImportManifest lists an image whose manifest bytes were made elsewhere (a
// registry), keeping them byte for byte so the image's digest stays the one
// the registry shows. The config and layer blobs must be stored already; the
// index entry is added last, so an interrupted pull never leaves a name
// pointing at a partial image.
func (s *Store) ImportManifest(data []byte, opts ImportOptions) (*Image, error) {
	// Whoever calls (pull, a push to `registry serve`) got these bytes
	// from outside: the store checks them itself.
	m, mediaType, ref, err := checkImport(data, opts)
	if err != nil {
		return nil, err
	}
	// One sync of the blob directory makes the manifest and every blob
	// ingested for it (IngestBlob) durable before the index names them.
	manifestDigest, err := s.putBlobBytes(data, false)
	if err != nil {
		return nil, fmt.Errorf("store manifest: %w", err)
	}
	if err := s.syncBlobDir(); err != nil {
		return nil, err
	}
	unlock, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.checkImportBlobs(data, m, manifestDigest, opts); err != nil {
		return nil, err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: manifestDigest, Size: int64(len(data))}
	err = s.updateIndexLocked(func(idx *ocispec.Index) error {
		importEntry(idx, desc, m, ref, opts)
		return nil
	})
	if err != nil {
		return nil, err
	}
	images, err := s.Images()
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		if img.ManifestDigest == manifestDigest {
			return img, nil
		}
	}
	return nil, fmt.Errorf("manifest %s: %w", manifestDigest, ErrNotFound)
}

// checkImport decodes an imported manifest and says which media type and
// full name it is listed under.
func checkImport(data []byte, opts ImportOptions) (m ocispec.Manifest, mediaType, ref string, err error) {
	m, err = DecodeManifest(data)
	if err != nil {
		return m, "", "", fmt.Errorf("manifest: %w", err)
	}
	mediaType = opts.MediaType
	if mediaType == "" {
		mediaType = m.MediaType
	}
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageManifest
	}
	if mediaType != ocispec.MediaTypeImageManifest && mediaType != MediaTypeDockerManifest {
		return m, "", "", fmt.Errorf("manifest media type %q: the store keeps single-platform image manifests only (OCI or Docker schema2)", mediaType)
	}
	if opts.Ref != "" {
		r, err := ParseRef(opts.Ref)
		if err != nil {
			return m, "", "", err
		}
		ref = r.String()
	}
	return m, mediaType, ref, nil
}

// checkImportBlobs checks, under the store lock, that everything an
// imported manifest names is stored and agrees with it: a garbage
// collection may have run since the blobs were written, and nothing
// referred to them yet.
func (s *Store) checkImportBlobs(data []byte, m ocispec.Manifest, manifestDigest digest.Digest, opts ImportOptions) error {
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if !s.HasBlob(d.Digest) {
			return fmt.Errorf("blob %s of manifest %s is not in the store (removed while pulling?): pull again: %w", d.Digest, manifestDigest, ErrNotFound)
		}
	}
	if !s.HasBlob(manifestDigest) {
		if _, err := s.PutBlobBytes(data); err != nil {
			return fmt.Errorf("store manifest: %w", err)
		}
	}
	cfgData, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		return fmt.Errorf("image config %s: %w", m.Config.Digest, err)
	}
	cfg, err := DecodeConfig(cfgData)
	if err != nil {
		return fmt.Errorf("image config %s: %w", m.Config.Digest, err)
	}
	if opts.LayerSizes != nil && len(opts.LayerSizes) != len(m.Layers) {
		return fmt.Errorf("%d layer sizes for %d layers", len(opts.LayerSizes), len(m.Layers))
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("image config %s lists %d layers but the manifest %d: the image is damaged", m.Config.Digest, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	return nil
}

// importEntry lists an imported manifest under ref (moving the name from
// any other image): the entry the manifest has under that name or, for a
// name, its untagged entry, or a new one. Berth's facts about the image
// (sizes, when it came, its parent) come from another entry of the same
// manifest when there is one.
func importEntry(idx *ocispec.Index, desc ocispec.Descriptor, m ocispec.Manifest, ref string, opts ImportOptions) {
	if ref != "" {
		dropRef(idx, ref, desc.Digest)
	}
	i := entryOf(idx, desc.Digest, ref)
	if i < 0 && ref != "" {
		i = entryOf(idx, desc.Digest, "")
	}
	if i < 0 {
		entry := desc
		entry.Annotations = imageAnnotations(m.Config.Digest, "", opts.LayerSizes, len(m.Layers))
		if other := entryOf(idx, desc.Digest, anyName); other >= 0 {
			for _, k := range []string{AnnotationSize, AnnotationLayerSizes, AnnotationCreated, AnnotationParent} {
				if v, ok := idx.Manifests[other].Annotations[k]; ok {
					entry.Annotations[k] = v
				}
			}
		}
		idx.Manifests = append(idx.Manifests, entry)
		i = len(idx.Manifests) - 1
	}
	d := idx.Manifests[i]
	d.Annotations = cloneMap(d.Annotations)
	if ref != "" {
		d.Annotations[ocispec.AnnotationRefName] = ref
	}
	if opts.RepoDigest != "" {
		d.Annotations[AnnotationRepoDigest] = opts.RepoDigest
	}
	idx.Manifests[i] = d
}

// anyName makes entryOf match an entry whatever its name.
const anyName = "\x00any"

// entryOf is the position of manifest's entry named ref ("" for its
// untagged entry, anyName for any), -1 if it has none.
func entryOf(idx *ocispec.Index, manifest digest.Digest, ref string) int {
	for i, d := range idx.Manifests {
		if d.Digest == manifest && (ref == anyName || d.Annotations[ocispec.AnnotationRefName] == ref) {
			return i
		}
	}
	return -1
}

// SetRepoDigest records the name@digest a registry knows the image listed
// under ref by (after a push). A ref that is not listed is an error wrapping
// ErrNotFound.
func (s *Store) SetRepoDigest(ref, repoDigest string) error {
	r, err := ParseRef(ref)
	if err != nil {
		return err
	}
	full := r.String()
	return s.UpdateIndex(func(idx *ocispec.Index) error {
		for i, d := range idx.Manifests {
			if d.Annotations[ocispec.AnnotationRefName] == full {
				d.Annotations = cloneMap(d.Annotations)
				d.Annotations[AnnotationRepoDigest] = repoDigest
				idx.Manifests[i] = d
				return nil
			}
		}
		return fmt.Errorf("No such image: %s: %w", Familiar(full), ErrNotFound)
	})
}

// RepoDigests returns the name@digest forms registries know the image with
// this manifest by, sorted, without duplicates.
func (s *Store) RepoDigests(manifest digest.Digest) ([]string, error) {
	all, err := repoDigestIndex(s.eachSharedEntry)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(all[manifest])
	slices.Sort(out)
	return slices.Compact(out), nil
}

// RepoDigestIndex returns the name@digest forms (AnnotationRepoDigest) of
// every listed manifest that has one, in index order: what `images
// --digests` shows, read in one pass over the index.
func (s *Store) RepoDigestIndex() (map[digest.Digest][]string, error) {
	// Streamed, not the shared parsed index: `images` calls this after
	// ListedImages, which does not hold the index either.
	return repoDigestIndex(s.eachIndexEntry)
}

// repoDigestIndex is RepoDigestIndex over the entries each walks.
func repoDigestIndex(each func(func(ocispec.Descriptor) error) error) (map[digest.Digest][]string, error) {
	out := map[digest.Digest][]string{}
	err := each(func(d ocispec.Descriptor) error {
		if rd := d.Annotations[AnnotationRepoDigest]; rd != "" {
			out[d.Digest] = append(out[d.Digest], rd)
		}
		return nil
	})
	return out, err
}

// ManifestBytes returns an image's manifest exactly as stored, with its media
// type (Docker's or OCI's), for pushing and serving it unchanged.
func (s *Store) ManifestBytes(img *Image) ([]byte, string, error) {
	data, err := s.ReadBlob(img.ManifestDigest)
	if err != nil {
		return nil, "", fmt.Errorf("manifest of image %s: %w", img.ShortID(), err)
	}
	mediaType := img.Manifest.MediaType
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageManifest
	}
	return data, mediaType, nil
}
