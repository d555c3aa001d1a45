package store_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestValidateManifestWithoutLayers: an image with no layer at all (what
// Docker builds from FROM scratch and metadata steps only) is valid: the
// spec's prose says layers SHOULD have an entry, not MUST. A manifest with
// no layers array at all still fails, and so does a zero-layer manifest
// whose config claims a layer.
func TestValidateManifestWithoutLayers(t *testing.T) {
	s := openStore(t)
	created := time.Unix(1700000000, 0).UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config:   ocispec.ImageConfig{Env: []string{"A=1"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}},
		History:  []ocispec.History{{Created: &created, CreatedBy: "/bin/sh -c #(nop)  ENV A=1", EmptyLayer: true}},
	}
	img, err := s.PutImage(cfg, []ocispec.Descriptor{}, store.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(s.BlobPath(img.ManifestDigest))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"layers":[]`) {
		t.Fatalf("manifest %s: want an empty layers array, as Docker writes", raw)
	}
	if err := store.Validate(s, img); err != nil {
		t.Errorf("a zero-layer image is refused: %v", err)
	}

	// The bad cases beside it: no layers key at all (REQUIRED), and a
	// config that names a layer the manifest lacks.
	if err := store.CheckManifestSchema([]byte(strings.Replace(string(raw), `,"layers":[]`, "", 1))); err == nil ||
		!strings.Contains(err.Error(), "layers") {
		t.Errorf("a manifest without layers passes: %v", err)
	}
	bad := cfg
	bad.RootFS.DiffIDs = []digest.Digest{digest.FromString("x")}
	img2, err := s.PutImage(bad, []ocispec.Descriptor{}, store.ImageOptions{})
	if err == nil {
		err = store.Validate(s, img2)
	}
	var verr *store.ValidationError
	if err == nil || (errors.As(err, &verr) && !strings.Contains(err.Error(), "0 layers but config has 1 diff IDs")) {
		t.Errorf("zero layers with one diff ID: %v", err)
	}
}
