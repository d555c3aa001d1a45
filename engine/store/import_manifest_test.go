package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// importFixture stores a layer and a Docker config, and returns a Docker
// schema2 manifest over them, indented as a registry might serve it.
func importFixture(t *testing.T, s *store.Store, content string) ([]byte, testLayer, digest.Digest) {
	t.Helper()
	l := makeLayer(t, map[string]string{"f": content})
	ld, n, err := s.PutBlob(bytes.NewReader(l.blob), "", -1)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1700000000, 0).UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{l.diffID}},
		History:  []ocispec.History{{CreatedBy: "pulled"}},
	}
	cfgData, _ := json.Marshal(cfg)
	cd, err := s.PutBlobBytes(cfgData)
	if err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: store.MediaTypeDockerManifest,
		Config:    ocispec.Descriptor{MediaType: store.MediaTypeDockerConfig, Digest: cd, Size: int64(len(cfgData))},
		Layers:    []ocispec.Descriptor{{MediaType: store.MediaTypeDockerLayer, Digest: ld, Size: n}},
	}
	data, _ := json.MarshalIndent(m, "", "   ")
	return data, l, cd
}

func TestImportManifestKeepsBytesAndNames(t *testing.T) {
	s := openStore(t)
	data, l, configDigest := importFixture(t, s, "v1")
	img, err := s.ImportManifest(data, store.ImportOptions{
		Ref:        "alpine",
		RepoDigest: "docker.io/library/alpine@sha256:" + string(bytes.Repeat([]byte("a"), 64)),
		LayerSizes: []int64{l.size},
	})
	if err != nil {
		t.Fatal(err)
	}
	if img.ManifestDigest != digest.FromBytes(data) || img.ID != configDigest || img.Size != l.size {
		t.Fatalf("imported %s (ID %s, size %d)", img.ManifestDigest, img.ID, img.Size)
	}
	if len(img.Refs) != 1 || img.Refs[0] != "docker.io/library/alpine:latest" {
		t.Fatalf("refs %v", img.Refs)
	}
	stored, mediaType, err := s.ManifestBytes(img)
	if err != nil || !bytes.Equal(stored, data) || mediaType != store.MediaTypeDockerManifest {
		t.Fatalf("stored manifest differs (%q, %v)", mediaType, err)
	}
	idx, _ := s.ReadIndex()
	if len(idx.Manifests) != 1 || idx.Manifests[0].MediaType != store.MediaTypeDockerManifest {
		t.Fatalf("index entry %+v", idx.Manifests)
	}
	storetest.ValidateAll(t, s.Root())

	// Importing the same manifest again under the same name changes nothing
	// but the repo digest.
	rd := "docker.io/library/alpine@" + digest.FromBytes(data).String()
	if _, err := s.ImportManifest(data, store.ImportOptions{Ref: "alpine", RepoDigest: rd}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RepoDigests(img.ManifestDigest); len(got) != 1 || got[0] != rd {
		t.Fatalf("repo digests %v", got)
	}

	// A newer image takes the name; the old one stays, untagged, with its
	// sizes and repo digest.
	data2, l2, _ := importFixture(t, s, "v2")
	img2, err := s.ImportManifest(data2, store.ImportOptions{Ref: "alpine:latest", LayerSizes: []int64{l2.size}})
	if err != nil {
		t.Fatal(err)
	}
	images, _ := s.Images()
	if len(images) != 2 {
		t.Fatalf("%d images", len(images))
	}
	old, err := s.ImageByManifest(img.ManifestDigest)
	if err != nil || len(old.Refs) != 0 || old.Size != l.size {
		t.Fatalf("old image %+v %v", old, err)
	}
	if cur, _ := s.Image("alpine"); cur.ID != img2.ID {
		t.Fatalf("alpine is %s", cur.ID)
	}

	// The old one is named again: its untagged entry takes the name.
	if _, err := s.ImportManifest(data, store.ImportOptions{Ref: "alpine:v1"}); err != nil {
		t.Fatal(err)
	}
	idx, _ = s.ReadIndex()
	if len(idx.Manifests) != 2 {
		t.Fatalf("%d index entries, want 2", len(idx.Manifests))
	}
	if err := s.SetRepoDigest("alpine:latest", "docker.io/library/alpine@"+img2.ManifestDigest.String()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RepoDigests(img2.ManifestDigest); len(got) != 1 {
		t.Fatalf("repo digests of the new image %v", got)
	}
	if err := s.SetRepoDigest("nothere", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetRepoDigest of a missing name: %v", err)
	}
	storetest.ValidateAll(t, s.Root())
}

func TestImportManifestRefusesIncompleteImages(t *testing.T) {
	s := openStore(t)
	data, _, _ := importFixture(t, s, "x")
	var m ocispec.Manifest
	json.Unmarshal(data, &m)
	m.Layers[0].Digest = digest.FromString("never stored")
	missing, _ := json.Marshal(m)
	if _, err := s.ImportManifest(missing, store.ImportOptions{Ref: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing layer: %v", err)
	}
	index := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	if _, err := s.ImportManifest(index, store.ImportOptions{Ref: "x"}); err == nil {
		t.Fatal("an index was imported")
	}
	if _, err := s.ImportManifest(data, store.ImportOptions{Ref: "x", LayerSizes: []int64{1, 2}}); err == nil {
		t.Fatal("wrong number of layer sizes accepted")
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Fatalf("images listed: %v", images)
	}
}
