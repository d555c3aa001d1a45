package store_test

import (
	"archive/tar"
	"bytes"
	"sort"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// testLayer is a gzip'd tar layer made in memory.
type testLayer struct {
	blob   []byte
	diffID digest.Digest
	size   int64 // uncompressed
}

func makeLayer(t *testing.T, files map[string]string) testLayer {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	return testLayer{blob: gz.Bytes(), diffID: digest.FromBytes(tarBuf.Bytes()), size: int64(tarBuf.Len())}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	return storetest.Open(t)
}

// putImage stores the layers and an image over them; created makes the ID unique.
func putImage(t *testing.T, s *store.Store, created time.Time, parent digest.Digest, layers ...testLayer) *store.Image {
	t.Helper()
	var descs []ocispec.Descriptor
	var diffIDs []digest.Digest
	var sizes []int64
	var history []ocispec.History
	for i, l := range layers {
		d, n, err := s.PutBlob(bytes.NewReader(l.blob), "", -1)
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: d, Size: n})
		diffIDs = append(diffIDs, l.diffID)
		sizes = append(sizes, l.size)
		history = append(history, ocispec.History{Created: &created, CreatedBy: "/bin/sh -c step " + string(rune('0'+i))})
	}
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config:   ocispec.ImageConfig{Cmd: []string{"sh"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
		History:  history,
	}
	img, err := s.PutImage(cfg, descs, store.ImageOptions{Parent: parent, LayerSizes: sizes})
	if err != nil {
		t.Fatal(err)
	}
	return img
}
