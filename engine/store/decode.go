package store

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/berthkit/berth/engine/layer"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Limits on the documents Berth reads from registries and archives. They are
// the ones containerd and the distribution registry use: a real manifest is
// a few kilobytes and a real config rarely passes a hundred, so anything
// near the limit is an attack or a mistake, and refusing it keeps a hostile
// source from making Berth hold gigabytes in memory.
const (
	// MaxManifestSize bounds an image manifest or index: 4 MiB.
	MaxManifestSize = 4 << 20
	// MaxConfigSize bounds an image config: 8 MiB.
	MaxConfigSize = 8 << 20
)

// MediaTypeDockerLayerTar is Docker's uncompressed layer.
const MediaTypeDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"

// ErrInvalidImage marks a manifest, index or config that Berth refuses to
// read: over a limit, not JSON, or with a field that cannot be right.
var ErrInvalidImage = errors.New("invalid image document")

// invalidError is an ErrInvalidImage whose text is only what is wrong.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalidImage }

// invalidf returns an error matching ErrInvalidImage.
func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// CheckDigest refuses a digest Berth cannot store content under: malformed,
// or of an algorithm other than sha256 (the store is blobs/sha256 only).
func CheckDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return invalidf("digest %q is malformed (%v)", d, err)
	}
	if d.Algorithm() != digest.SHA256 {
		return invalidf("digest %s uses %s: berth stores sha256 content only", d, d.Algorithm())
	}
	return nil
}

// checkDescriptor checks what Berth relies on in a descriptor before it
// fetches or opens its blob: a usable digest and a size within [0, max].
func checkDescriptor(what string, d ocispec.Descriptor, max int64) error {
	if err := CheckDigest(d.Digest); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if d.Size < 0 {
		return invalidf("%s %s: size %d is negative", what, d.Digest, d.Size)
	}
	if max > 0 && d.Size > max {
		return invalidf("%s %s is %d bytes, over berth's limit of %d bytes (%d MiB)", what, d.Digest, d.Size, max, max>>20)
	}
	return nil
}

// IsImageManifestType reports whether mediaType is a single-platform image
// manifest, OCI's or Docker's schema2.
func IsImageManifestType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageManifest || mediaType == MediaTypeDockerManifest
}

// IsIndexType reports whether mediaType is a multi-platform index, OCI's or
// Docker's manifest list.
func IsIndexType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == MediaTypeDockerManifestList
}

// DecodeManifest reads an image manifest from an untrusted source. Besides
// the JSON it checks everything Berth later relies on: at most
// MaxManifestSize bytes, schemaVersion 2, an image manifest media type (when
// the document names one), a config descriptor that is an image config of
// at most MaxConfigSize bytes, and layers of a media type Berth can
// decompress; every digest is a well-formed sha256 and every size is not
// negative. The error wraps ErrInvalidImage and names what is wrong.
func DecodeManifest(data []byte) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	if len(data) > MaxManifestSize {
		return m, invalidf("manifest is %d bytes, over berth's limit of %d bytes (4 MiB)", len(data), MaxManifestSize)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, invalidf("manifest is not valid JSON (%v)", err)
	}
	if m.SchemaVersion != 2 {
		return m, invalidf("manifest has schemaVersion %d, not 2", m.SchemaVersion)
	}
	if m.MediaType != "" && !IsImageManifestType(m.MediaType) {
		return m, invalidf("manifest says its media type is %q, not an image manifest", m.MediaType)
	}
	if m.Config.MediaType != ocispec.MediaTypeImageConfig && m.Config.MediaType != MediaTypeDockerConfig {
		return m, invalidf("manifest's config has media type %q, not an image config: it is not a container image", m.Config.MediaType)
	}
	if err := checkDescriptor("image config", m.Config, MaxConfigSize); err != nil {
		return m, err
	}
	for i, l := range m.Layers {
		what := fmt.Sprintf("layer %d/%d", i+1, len(m.Layers))
		if err := checkDescriptor(what, l, 0); err != nil {
			return m, err
		}
		if _, ok := LayerCompression(l.MediaType); !ok {
			return m, invalidf("%s %s has media type %q, not a layer type berth knows", what, l.Digest, l.MediaType)
		}
	}
	return m, nil
}

// DecodeIndex reads a multi-platform index (OCI's or Docker's manifest list)
// from an untrusted source: at most MaxManifestSize bytes, schemaVersion 2,
// and entries whose digests are well-formed sha256 and whose sizes are in
// [0, MaxManifestSize]. The error wraps ErrInvalidImage.
func DecodeIndex(data []byte) (ocispec.Index, error) {
	var idx ocispec.Index
	if len(data) > MaxManifestSize {
		return idx, invalidf("index is %d bytes, over berth's limit of %d bytes (4 MiB)", len(data), MaxManifestSize)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return idx, invalidf("index is not valid JSON (%v)", err)
	}
	if idx.SchemaVersion != 2 {
		return idx, invalidf("index has schemaVersion %d, not 2", idx.SchemaVersion)
	}
	if idx.MediaType != "" && !IsIndexType(idx.MediaType) {
		return idx, invalidf("index says its media type is %q, not an index", idx.MediaType)
	}
	for i, d := range idx.Manifests {
		if err := checkDescriptor(fmt.Sprintf("index entry %d", i+1), d, MaxManifestSize); err != nil {
			return idx, err
		}
	}
	return idx, nil
}

// DecodeConfig reads an image config from an untrusted source: at most
// MaxConfigSize bytes, a rootfs of type "layers" whose diff IDs are
// well-formed sha256 digests, and an os. The error wraps ErrInvalidImage.
func DecodeConfig(data []byte) (ocispec.Image, error) {
	var cfg ocispec.Image
	if len(data) > MaxConfigSize {
		return cfg, invalidf("image config is %d bytes, over berth's limit of %d bytes (8 MiB)", len(data), MaxConfigSize)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, invalidf("image config is not valid JSON (%v)", err)
	}
	if cfg.RootFS.Type != "layers" {
		return cfg, invalidf("image config has rootfs.type %q, not \"layers\": it is not an image config", cfg.RootFS.Type)
	}
	if cfg.OS == "" {
		return cfg, invalidf("image config names no os")
	}
	for i, d := range cfg.RootFS.DiffIDs {
		if err := CheckDigest(d); err != nil {
			return cfg, fmt.Errorf("image config diff ID %d: %w", i+1, err)
		}
	}
	return cfg, nil
}

// LayerCompression returns the compression a layer media type announces
// ("tar", "gzip" or "zstd"), and false for a type that is not a layer.
func LayerCompression(mediaType string) (string, bool) {
	switch mediaType {
	// The "nondistributable" types are deprecated but still found in old images.
	case ocispec.MediaTypeImageLayer, "application/vnd.oci.image.layer.nondistributable.v1.tar", MediaTypeDockerLayerTar:
		return "tar", true
	case ocispec.MediaTypeImageLayerGzip, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		MediaTypeDockerLayer, MediaTypeDockerForeignLayer:
		return "gzip", true
	case ocispec.MediaTypeImageLayerZstd, "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
		return "zstd", true
	}
	return "", false
}

// CheckLayer reads a layer blob to its end from an untrusted source: its
// compression must be the one mediaType announces, what it decompresses to
// must be a well-formed tar, and no entry may be one that unpacking refuses
// from its header alone (layer.CheckEntry). It returns the uncompressed
// size and digest (the diff ID, which the caller compares with the
// config's). The error wraps ErrInvalidImage when the content is at fault.
func CheckLayer(r io.Reader, mediaType string) (int64, digest.Digest, error) {
	plain, closeFn, err := decompressFor(mediaType, r)
	if err != nil {
		return 0, "", invalidf("%v", err)
	}
	defer closeFn()
	digester := digest.Canonical.Digester()
	source := &errorNoting{r: plain}
	counted := &countingReader{r: io.TeeReader(source, digester.Hash())}
	tr := tar.NewReader(counted)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if source.err != nil {
			// The compressed stream broke (truncated, corrupt), not the tar.
			return 0, "", invalidf("it does not decompress (%v)", source.err)
		}
		if err != nil {
			return 0, "", invalidf("not a well-formed tar after decompression (%v)", err)
		}
		if err := layer.CheckEntry(hdr); err != nil {
			return 0, "", invalidf("it cannot be unpacked: %v", err)
		}
	}
	// The diff ID covers the whole stream, padding after the end marker included.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return 0, "", invalidf("it does not decompress (%v)", err)
	}
	return counted.n, digester.Digest(), nil
}

// errorNoting remembers the first error other than io.EOF its reader
// returned, so a broken compressed stream is told from a broken tar.
type errorNoting struct {
	r   io.Reader
	err error
}

func (e *errorNoting) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
