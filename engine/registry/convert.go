package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Recompression at push (`push --compression`), as BuildKit's
// compression=zstd with force-compression: every layer not already in the
// asked compression is decompressed, checked against its diff ID and
// compressed again with the compressor commit uses, into a temporary file
// the upload reads and then removes. The store is not changed: the image
// keeps its layers and its manifest, and the registry gets a manifest of
// its own (OCI media types, since Docker's have no zstd).

// needsConversion says whether a stored layer must be recompressed to be
// pushed in compression c.
func needsConversion(desc ocispec.Descriptor, c layer.Compression) (bool, error) {
	have, err := layer.CompressionOfMediaType(desc.MediaType)
	if err != nil {
		return false, fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	return have != c, nil
}

// convertedLayer is a recompressed layer waiting in a temporary file.
type convertedLayer struct {
	desc ocispec.Descriptor
	file *os.File
}

// Close removes the temporary file.
func (l *convertedLayer) Close() error {
	err := l.file.Close()
	if rmErr := os.Remove(l.file.Name()); err == nil {
		err = rmErr
	}
	return err
}

// convertLayer recompresses the stored layer desc into c. The stored bytes
// must hash to desc's digest and uncompress to diffID (what the image
// config promises the registry's clients); otherwise nothing is pushed.
func convertLayer(ctx context.Context, s *store.Store, desc ocispec.Descriptor, diffID digest.Digest, c layer.Compression) (_ *convertedLayer, err error) {
	src, err := s.OpenBlob(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("blob %s of the image is missing from the store: %w", desc.Digest, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(s.TmpDir(), "push-layer-")
	if err != nil {
		return nil, fmt.Errorf("recompress layer %s: %w", desc.Digest, err)
	}
	out := &convertedLayer{file: tmp}
	defer func() {
		if err != nil {
			out.Close()
		}
	}()

	stored := digest.Canonical.Digester()
	plain, err := layer.Decompress(io.TeeReader(src, stored.Hash()))
	if err != nil {
		return nil, fmt.Errorf("recompress layer %s: %w", desc.Digest, err)
	}
	defer plain.Close()
	pushed, diff := digest.Canonical.Digester(), digest.Canonical.Digester()
	zw, err := layer.NewCompressor(io.MultiWriter(tmp, pushed.Hash()), c, 0)
	if err != nil {
		return nil, err
	}
	// Checked between reads, so SIGINT ends a long recompression.
	unpacked := readFunc(func(b []byte) (int, error) {
		if ctx.Err() != nil {
			return 0, interrupted(ctx)
		}
		return plain.Read(b)
	})
	if _, err := io.Copy(io.MultiWriter(zw, diff.Hash()), unpacked); err != nil {
		zw.Close()
		return nil, fmt.Errorf("recompress layer %s: %w", desc.Digest, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("recompress layer %s: %w", desc.Digest, err)
	}
	// Whatever follows the compressed stream still counts for the digest.
	if _, err := io.Copy(stored.Hash(), src); err != nil {
		return nil, fmt.Errorf("recompress layer %s: %w", desc.Digest, err)
	}
	if got := stored.Digest(); got != desc.Digest {
		return nil, fmt.Errorf("stored layer %s hashes to %s: %w: the store is damaged (berth image validate says more)", desc.Digest, got, store.ErrInvalidDigest)
	}
	if got := diff.Digest(); got != diffID {
		return nil, diffIDError(desc.Digest, "the store", got, diffID)
	}
	// The file holds exactly the new blob: where it ends is its size.
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	out.desc = ocispec.Descriptor{MediaType: c.MediaType(), Digest: pushed.Digest(), Size: size, Annotations: desc.Annotations}
	return out, nil
}

// readFunc is an io.Reader made of a function.
type readFunc func([]byte) (int, error)

func (f readFunc) Read(b []byte) (int, error) { return f(b) }

// convertedManifest rewrites a stored manifest for layers pushed in
// compression c. The media types become OCI's (Docker's schema 2 has no
// zstd), except that a Docker manifest pushed as gzip stays Docker's.
func convertedManifest(data []byte, mediaType string, layers []ocispec.Descriptor, c layer.Compression) ([]byte, string, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, "", fmt.Errorf("read stored manifest: %w", err)
	}
	docker := mediaType == store.MediaTypeDockerManifest && c == layer.Gzip
	m.Layers = make([]ocispec.Descriptor, len(layers))
	for i, l := range layers {
		m.Layers[i] = l
		m.Layers[i].MediaType = ociLayerType(l.MediaType)
		if docker {
			m.Layers[i].MediaType = store.MediaTypeDockerLayer
		}
	}
	if !docker {
		mediaType = ocispec.MediaTypeImageManifest
		m.MediaType = mediaType
		if m.Config.MediaType == store.MediaTypeDockerConfig {
			m.Config.MediaType = ocispec.MediaTypeImageConfig
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, "", err
	}
	return out, mediaType, nil
}

// ociLayerType is the OCI media type of a layer blob of this type.
func ociLayerType(mediaType string) string {
	c, err := layer.CompressionOfMediaType(mediaType)
	if err != nil {
		return mediaType
	}
	return c.MediaType()
}
