package registry

import (
	"fmt"
	"io"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// LayerSizes returns the uncompressed size of each layer blob in the store,
// base first: from known when it has the digest, else from an image in the
// store that records the size of the same blob, else by decompressing the
// blob and counting.
func LayerSizes(s *store.Store, layers []ocispec.Descriptor, known map[digest.Digest]int64) ([]int64, error) {
	sizes := make([]int64, len(layers))
	var recorded map[digest.Digest]int64
	for i, l := range layers {
		if n, ok := known[l.Digest]; ok {
			sizes[i] = n
			continue
		}
		if recorded == nil {
			recorded = RecordedLayerSizes(s)
		}
		if n, ok := recorded[l.Digest]; ok {
			sizes[i] = n
			continue
		}
		n, _, err := UncompressedLayer(s, l.Digest)
		if err != nil {
			return nil, err
		}
		sizes[i] = n
	}
	return sizes, nil
}

// RecordedLayerSizes maps layer blob digests to the uncompressed sizes the
// store's images record for them.
func RecordedLayerSizes(s *store.Store) map[digest.Digest]int64 {
	out := map[digest.Digest]int64{}
	images, err := s.Images()
	if err != nil {
		return out
	}
	for _, img := range images {
		sizes, ok := img.LayerSizes()
		if !ok {
			continue
		}
		for i, l := range img.Manifest.Layers {
			out[l.Digest] = sizes[i]
		}
	}
	return out
}

// UncompressedLayer decompresses a stored layer blob (gzip, zstd or plain
// tar) and returns its uncompressed size and digest, the diff ID.
func UncompressedLayer(s *store.Store, blob digest.Digest) (int64, digest.Digest, error) {
	f, err := s.OpenBlob(blob)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	return countUncompressed(f)
}

func countUncompressed(r io.Reader) (int64, digest.Digest, error) {
	zr, err := layer.Decompress(r)
	if err != nil {
		return 0, "", err
	}
	defer zr.Close()
	digester := digest.Canonical.Digester()
	n, err := io.Copy(digester.Hash(), zr)
	if err != nil {
		return 0, "", fmt.Errorf("decompress layer: %w", err)
	}
	return n, digester.Digest(), nil
}

// vouchedDiffIDs maps layer blobs to the diff IDs the store's listed images
// pair them with. Each pairing was verified when its image came in (pull,
// load and commit all check it), and a blob's content is fixed by its
// digest, so the pair holds for any image that names the same blob.
func vouchedDiffIDs(s *store.Store) map[digest.Digest]digest.Digest {
	out := map[digest.Digest]digest.Digest{}
	images, err := s.Images()
	if err != nil {
		return out
	}
	for _, img := range images {
		diffIDs := img.DiffIDs()
		if len(diffIDs) != len(img.Manifest.Layers) {
			continue
		}
		for i, l := range img.Manifest.Layers {
			out[l.Digest] = diffIDs[i]
		}
	}
	return out
}

// verifyStoredLayer reads a stored layer blob once, returning the digest of
// its bytes, its uncompressed size and its diff ID, and checking that it is
// a well-formed tar compressed as its media type says. The digest is
// returned with that check's error too.
func verifyStoredLayer(s *store.Store, desc ocispec.Descriptor) (digest.Digest, int64, digest.Digest, error) {
	f, err := s.OpenBlob(desc.Digest)
	if err != nil {
		return "", 0, "", err
	}
	defer f.Close()
	blobDigester := digest.Canonical.Digester()
	tee := io.TeeReader(f, blobDigester.Hash())
	n, diffID, checkErr := store.CheckLayer(tee, desc.MediaType)
	// Whatever follows the compressed stream (or the point where it broke)
	// still counts for the digest, which says whether the copy is intact.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return "", 0, "", err
	}
	return blobDigester.Digest(), n, diffID, checkErr
}
