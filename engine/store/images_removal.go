package store

import (
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImagesForRemoval lists the store's images as Images does (one value per
// manifest, newest first, names sorted), each holding only what deciding
// a removal (rmi, image prune) reads: ID, manifests, names, parent, size,
// creation time, the layers' digests and sizes, the diff IDs and the
// layer-sizes annotation. The rest of Config, Ext and the other
// annotations are left empty: such an image is for deciding, never for
// showing, running or building on.
//
// Images keeps every manifest and config whole, and the parsed index
// besides: `image prune` of 10,000 dangling images peaked at 100 MiB with
// it. This streams index.json (eachIndexEntry) and reads the blobs through
// one buffer, as ListedImages does, with the same checks of layer digests
// and diff IDs.
func (s *Store) ImagesForRemoval() ([]*Image, error) {
	var buf []byte
	in := interner{}
	return collectImages(s.eachIndexEntry, func(desc ocispec.Descriptor) (*Image, error) {
		return s.loadImageForRemoval(desc, &buf, in)
	})
}

// interner gives one copy of each string: images built on one base share
// its parent ID, its layers' digests and diff IDs, and often layer sizes.
type interner map[string]string

func (in interner) of(s string) string {
	if c, ok := in[s]; ok {
		return c
	}
	// A copy: s may share a larger string's bytes (an index entry, a
	// manifest), which it would keep alive.
	c := strings.Clone(s)
	in[c] = c
	return c
}

func (in interner) digest(d digest.Digest) digest.Digest { return digest.Digest(in.of(string(d))) }

func (s *Store) loadImageForRemoval(desc ocispec.Descriptor, buf *[]byte, in interner) (*Image, error) {
	// A copy of the entry's digest, which shares the whole entry's bytes.
	md := digest.Digest(strings.Clone(string(desc.Digest)))
	img := &Image{ManifestDigest: md, Manifests: []digest.Digest{md}}
	if p := desc.Annotations[AnnotationParent]; p != "" {
		img.Parent = digest.Digest(in.of(p))
	}
	if n, err := strconv.ParseInt(desc.Annotations[AnnotationSize], 10, 64); err == nil {
		img.Size = n
	}
	if v := desc.Annotations[AnnotationLayerSizes]; v != "" {
		img.Annotations = map[string]string{AnnotationLayerSizes: in.of(v)}
	}
	if cached, ok := s.parsed.Load(desc.Digest); ok {
		full := cached.(*Image)
		img.ID, img.ManifestSize = full.ID, full.ManifestSize
		img.Manifest.Layers = make([]ocispec.Descriptor, len(full.Manifest.Layers))
		for i, l := range full.Manifest.Layers {
			img.Manifest.Layers[i] = ocispec.Descriptor{Digest: l.Digest, Size: l.Size}
		}
		img.Manifest.Config = ocispec.Descriptor{Digest: full.Manifest.Config.Digest, Size: full.Manifest.Config.Size}
		img.Config.Created = full.Config.Created
		img.Config.RootFS.DiffIDs = full.Config.RootFS.DiffIDs
		return img, nil
	}
	var cfg listedConfigBase
	m, n, err := s.readListed(desc, buf, &cfg, &cfg)
	if err != nil {
		return nil, err
	}
	img.ManifestSize = n
	img.Manifest.Layers = make([]ocispec.Descriptor, len(m.Layers))
	for i, l := range m.Layers {
		img.Manifest.Layers[i] = ocispec.Descriptor{Digest: in.digest(l.Digest), Size: l.Size}
	}
	for i, d := range cfg.RootFS.DiffIDs {
		cfg.RootFS.DiffIDs[i] = in.digest(d)
	}
	img.ID = m.Config.Digest
	img.Manifest.Config = ocispec.Descriptor{Digest: m.Config.Digest, Size: m.Config.Size}
	img.Config.Created = cfg.Created
	img.Config.RootFS.DiffIDs = cfg.RootFS.DiffIDs
	return img, nil
}
