package store_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// indexOf stores an OCI image index of imgs (one platform each) and returns
// its bytes.
func indexOf(t *testing.T, s *store.Store, imgs ...*store.Image) []byte {
	t.Helper()
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for i, img := range imgs {
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest,
			Digest: img.ManifestDigest, Size: img.ManifestSize,
			Platform: &ocispec.Platform{OS: "linux", Architecture: []string{"amd64", "arm64"}[i]}})
	}
	data, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestIndexKeepsChildrenThroughGC(t *testing.T) {
	s := openStore(t)
	l1, l2 := makeLayer(t, map[string]string{"a": "1"}), makeLayer(t, map[string]string{"b": "2"})
	a := putImage(t, s, time.Unix(1, 0), "", l1)
	b := putImage(t, s, time.Unix(2, 0), "", l2)
	data := indexOf(t, s, a, b)
	desc, err := s.PutIndex(data, "", "multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != digest.FromBytes(data) || desc.MediaType != ocispec.MediaTypeImageIndex ||
		desc.Annotations[ocispec.AnnotationRefName] != "docker.io/library/multi:1" {
		t.Fatalf("stored %+v", desc)
	}
	// The children's images go; their blobs stay for the index.
	for _, img := range []*store.Image{a, b} {
		if err := s.DeleteImage(img.ID); err != nil {
			t.Fatal(err)
		}
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Fatalf("images left: %d", len(images))
	}
	for _, img := range []*store.Image{a, b} {
		for _, d := range append([]digest.Digest{img.ManifestDigest, img.ID}, img.Manifest.Layers[0].Digest) {
			if !s.HasBlob(d) {
				t.Fatalf("GC removed %s, which the index needs", d)
			}
		}
	}
	if err := store.ValidateLayout(s); err != nil {
		t.Fatalf("validate with an index: %v", err)
	}
	if c, ok, err := s.IndexChild(b.ManifestDigest); !ok || err != nil || c.Platform.Architecture != "arm64" {
		t.Fatalf("child: %+v %v %v", c, ok, err)
	}

	// A damaged child is reported by validate.
	if err := s.DeleteBlob(b.Manifest.Layers[0].Digest); err != nil {
		t.Fatal(err)
	}
	err = store.ValidateLayout(s)
	if err == nil || !strings.Contains(err.Error(), "indexes.json entry 1") || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("validate of a damaged index: %v", err)
	}

	// Without its name the index and every blob it kept go.
	if _, ok, err := s.DropIndexName("multi:1"); !ok || err != nil {
		t.Fatalf("drop: %v %v", ok, err)
	}
	if _, err := s.GC(); err != nil {
		t.Fatal(err)
	}
	if blobs, _ := s.Blobs(); len(blobs) != 0 {
		t.Fatalf("blobs left after the index went: %v", blobs)
	}
	if err := store.ValidateLayout(s); err != nil {
		t.Fatal(err)
	}
}

func TestPutIndexRefuses(t *testing.T) {
	s := openStore(t)
	a := putImage(t, s, time.Unix(1, 0), "", makeLayer(t, map[string]string{"a": "1"}))
	good := indexOf(t, s, a)
	if _, err := s.PutIndex(good, ocispec.MediaTypeImageManifest, "x:1"); !errors.Is(err, store.ErrInvalidImage) {
		t.Errorf("wrong media type: %v", err)
	}
	ghost := *a
	ghost.ManifestDigest = digest.FromString("ghost")
	if _, err := s.PutIndex(indexOf(t, s, &ghost), "", "x:1"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "push it first") {
		t.Errorf("unknown child: %v", err)
	}
	if _, err := s.PutIndex([]byte(`{"schemaVersion":1}`), "", "x:1"); !errors.Is(err, store.ErrInvalidImage) {
		t.Errorf("bad JSON: %v", err)
	}
	if list, _ := s.Indexes(); len(list) != 0 {
		t.Fatalf("refused indexes kept: %v", list)
	}
	// The tag moves from the image to the index; the image stays, untagged
	// if that was its last name.
	if _, err := s.Tag(a.ID, "x:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutIndex(good, "", "x:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Image("x:1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the image kept the index's tag: %v", err)
	}
	if img, err := s.Image(a.ID.String()); err != nil || len(img.Refs) != 0 {
		t.Fatalf("image after its tag moved: %v %v", img, err)
	}
	if _, err := os.Stat(s.Root() + "/indexes.json"); err != nil {
		t.Fatal(err)
	}
}

// A damaged indexes.json stops the garbage collector (it could free what an
// index needs) with a message that says what to do; images are unaffected.
func TestCorruptIndexesStopsGC(t *testing.T) {
	s := openStore(t)
	a := putImage(t, s, time.Unix(1, 0), "", makeLayer(t, map[string]string{"a": "1"}))
	if err := os.WriteFile(s.Root()+"/indexes.json", []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(); err == nil || !strings.Contains(err.Error(), "indexes.json") || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("GC over a corrupt indexes.json: %v", err)
	}
	if !s.HasBlob(a.Manifest.Layers[0].Digest) {
		t.Fatal("blob removed")
	}
	if images, err := s.Images(); err != nil || len(images) != 1 {
		t.Fatalf("images: %v %v", images, err)
	}
	if err := store.ValidateLayout(s); err == nil || !strings.Contains(err.Error(), "indexes.json") {
		t.Fatalf("validate: %v", err)
	}
}
