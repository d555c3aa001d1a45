package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var fuzzSeedManifests = []string{
	`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}]}`,
	`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:../../x","size":-1},"layers":[]}`,
	`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha512:00","size":99999999999,"platform":{"os":"linux","architecture":"amd64"}}]}`,
	`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","x"]}}`,
	`{"schemaVersion":1}`, `null`, `[]`, `{"layers":[null]}`,
}

// FuzzDecodeImageDocuments feeds the same bytes to DecodeManifest,
// DecodeIndex and DecodeConfig: none may panic, every refusal is an
// ErrInvalidImage, and whatever is accepted holds every promise the
// decoders make (digests that name a sha256 blob, sizes within limits,
// known media types).
func FuzzDecodeImageDocuments(f *testing.F) {
	for _, s := range fuzzSeedManifests {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := DecodeManifest(data); err != nil {
			wantInvalid(t, "manifest", err)
		} else {
			checkAcceptedManifest(t, m)
		}
		if idx, err := DecodeIndex(data); err != nil {
			wantInvalid(t, "index", err)
		} else {
			for _, d := range idx.Manifests {
				wantBlobDescriptor(t, d, MaxManifestSize)
			}
		}
		if cfg, err := DecodeConfig(data); err != nil {
			wantInvalid(t, "config", err)
		} else {
			if cfg.RootFS.Type != "layers" || cfg.OS == "" {
				t.Fatalf("accepted config %+v", cfg.RootFS)
			}
			for _, d := range cfg.RootFS.DiffIDs {
				wantSHA256(t, d)
			}
		}
	})
}

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidImage) || err.Error() == "" {
		t.Fatalf("%s refused with %v, not an ErrInvalidImage", what, err)
	}
}

func checkAcceptedManifest(t *testing.T, m ocispec.Manifest) {
	t.Helper()
	wantBlobDescriptor(t, m.Config, MaxConfigSize)
	for _, l := range m.Layers {
		wantBlobDescriptor(t, l, 0)
		if _, ok := LayerCompression(l.MediaType); !ok {
			t.Fatalf("accepted layer media type %q", l.MediaType)
		}
	}
}

func wantBlobDescriptor(t *testing.T, d ocispec.Descriptor, max int64) {
	t.Helper()
	wantSHA256(t, d.Digest)
	if d.Size < 0 || (max > 0 && d.Size > max) {
		t.Fatalf("accepted size %d (limit %d)", d.Size, max)
	}
}

func wantSHA256(t *testing.T, d digest.Digest) {
	t.Helper()
	// What Berth does with an accepted digest: name a file by it.
	if d.Validate() != nil || d.Algorithm() != digest.SHA256 || len(d.Encoded()) != 64 {
		t.Fatalf("accepted digest %q", d)
	}
}

// FuzzCheckLayer feeds arbitrary bytes as a layer of each compression: no
// panic, and a refusal is an ErrInvalidImage.
func FuzzCheckLayer(f *testing.F) {
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0})
	f.Add(bytes.Repeat([]byte{0}, 1024))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mt := range []string{ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayerZstd} {
			n, diffID, err := CheckLayer(bytes.NewReader(data), mt)
			if err != nil {
				wantInvalid(t, "layer", err)
				continue
			}
			if n < 0 || diffID.Validate() != nil {
				t.Fatalf("accepted layer: %d bytes, diff ID %q", n, diffID)
			}
		}
	})
}
