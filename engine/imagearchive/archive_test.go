package imagearchive_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/imagearchive"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// putImage stores a one-layer image (one file, content body) named name.
func putImage(t *testing.T, s *store.Store, name, body string) *store.Image {
	t.Helper()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	tw.Close()
	d, n, err := s.PutBlob(bytes.NewReader(layer.Bytes()), "", -1)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1, 0).UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{d}},
		History:  []ocispec.History{{Created: &created, CreatedBy: "test"}},
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: n}
	img, err := s.PutImage(cfg, []ocispec.Descriptor{desc}, store.ImageOptions{LayerSizes: []int64{n}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tag(img.ID, name); err != nil {
		t.Fatal(err)
	}
	return img
}

func save(t *testing.T, s *store.Store, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := imagearchive.Save(context.Background(), s, &buf, names); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// What Save writes, Load reads back into another store: the same image
// (ID and manifest), its name, its size; and saving twice gives the same
// bytes.
func TestSaveLoadRoundTrip(t *testing.T) {
	src := storetest.Open(t)
	img := putImage(t, src, "app:1", "hello")
	archive := save(t, src, "app:1")
	if again := save(t, src, "app:1"); !bytes.Equal(archive, again) {
		t.Error("two saves of one image differ")
	}
	dst := storetest.Open(t)
	putImage(t, dst, "app:1", "older") // the name moves from this one
	listed, err := imagearchive.Load(context.Background(), dst, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].ID != img.ID || listed[0].Ref != "docker.io/library/app:1" || listed[0].Replaced == "" {
		t.Fatalf("listed %+v", listed)
	}
	got, err := dst.Image("app:1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != img.ID || got.ManifestDigest != img.ManifestDigest || got.Size != img.Size {
		t.Errorf("loaded %s (manifest %s, %d bytes), saved %s (manifest %s, %d bytes)", got.ID, got.ManifestDigest, got.Size, img.ID, img.ManifestDigest, img.Size)
	}
	storetest.ValidateAll(t, dst.Root())
}

// An archive with a damaged layer loads nothing: no name moves, no blob is
// left, the index is as it was.
func TestLoadDamagedArchiveChangesNothing(t *testing.T) {
	src := storetest.Open(t)
	img := putImage(t, src, "app:1", "hello")
	archive := damage(t, save(t, src, "app:1"), "blobs/sha256/"+img.Manifest.Layers[0].Digest.Encoded())
	dst := storetest.Open(t)
	before := putImage(t, dst, "app:1", "older")
	blobsBefore := blobNames(t, dst)
	_, err := imagearchive.Load(context.Background(), dst, bytes.NewReader(archive))
	if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), "nothing was loaded") {
		t.Fatalf("err %v, want a corrupt blob and nothing loaded", err)
	}
	if got, err := dst.Image("app:1"); err != nil || got.ID != before.ID {
		t.Errorf("app:1 is %v (%v), want it still on %s", got, err, before.ID)
	}
	if after := blobNames(t, dst); !slices.Equal(after, blobsBefore) {
		t.Errorf("blobs %v, want %v", after, blobsBefore)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dst.Root(), "tmp")); len(tmp) != 0 {
		t.Errorf("tmp/ holds %d entries after the load", len(tmp))
	}
}

// damage flips a byte of the archive's entry name.
func damage(t *testing.T, archive []byte, name string) []byte {
	t.Helper()
	var out bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(archive)), tar.NewWriter(&out)
	found := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == name {
			data[len(data)/2] ^= 0xff
			found = true
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	if !found {
		t.Fatalf("the archive has no %s", name)
	}
	return out.Bytes()
}

func blobNames(t *testing.T, s *store.Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root(), "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
