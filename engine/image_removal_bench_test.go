package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkPruneImages prunes N dangling images, each a step built on a
// tagged base with a layer of its own (what `build --no-cache` leaves),
// from a store seeded afresh before each run (untimed). ns/image, the time
// per image pruned, stays the same from 100 to 1,000 images: the removal
// reads the facts, writes index.json and walks the store once, whatever N.
// Removed image by image, it grew with N (quadratic in all).
//
//	go test -run '^$' -bench PruneImages -benchtime 5x ./engine
func BenchmarkPruneImages(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := pruneSeed(b, n)
				b.StartTimer()
				report, err := e.PruneImages(ctx, engine.PruneImagesOptions{})
				if err != nil || len(report.Records) != 2*n {
					b.Fatalf("pruned %d records (want %d): %v", len(report.Records), 2*n, err)
				}
				b.StopTimer()
				e.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/image")
		})
	}
}

// pruneSeed is an engine over a fresh store of a tagged base and n
// dangling images on it, each with a small layer of its own, all listed
// in one index update.
func pruneSeed(b *testing.B, n int) *engine.Engine {
	b.Helper()
	e, err := engine.Open(filepath.Join(b.TempDir(), "root"), engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	created := time.Now().UTC()
	baseLayer := imgLayerTar(b, imgFile{"base", "1"})
	base := pruneSeedImage(b, e.Store, nil, created, baseLayer)
	var entries []ocispec.Descriptor
	for i := range n {
		entries = append(entries, pruneSeedEntry(b, e.Store, base, created, imgLayerTar(b, imgFile{"step", strconv.Itoa(i)})))
	}
	err = e.Store.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests = append(idx.Manifests, entries...)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.Store.Tag(base.ID, "base:1"); err != nil {
		b.Fatal(err)
	}
	return e
}

// pruneSeedImage stores an image of one layer (tar) over parent's layers.
func pruneSeedImage(b *testing.B, s *store.Store, parent *store.Image, created time.Time, tar []byte) *store.Image {
	b.Helper()
	desc := pruneSeedEntry(b, s, parent, created, tar)
	if err := s.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests = append(idx.Manifests, desc)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	img, err := s.Image(desc.Annotations[store.AnnotationID])
	if err != nil {
		b.Fatal(err)
	}
	return img
}

// pruneSeedEntry stores the blobs of an image of one layer (tar) over
// parent's layers and returns its index entry, not yet listed.
func pruneSeedEntry(b *testing.B, s *store.Store, parent *store.Image, created time.Time, tar []byte) ocispec.Descriptor {
	b.Helper()
	cfg := ocispec.Image{Created: &created, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, RootFS: ocispec.RootFS{Type: "layers"}}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest}
	m.SchemaVersion = 2
	var sizes []int64
	if parent != nil {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, parent.Config.RootFS.DiffIDs...)
		m.Layers = append(m.Layers, parent.Manifest.Layers...)
		ps, _ := parent.LayerSizes()
		sizes = append(sizes, ps...)
	}
	blob := imgGzip(tar)
	d, size, err := s.PutBlob(bytes.NewReader(blob), "", -1)
	if err != nil {
		b.Fatal(err)
	}
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(tar))
	m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: d, Size: size})
	sizes = append(sizes, int64(len(tar)))
	data, err := json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cfgDigest, err := s.PutBlobBytes(data)
	if err != nil {
		b.Fatal(err)
	}
	m.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgDigest, Size: int64(len(data))}
	desc, _, err := s.PutJSON(ocispec.MediaTypeImageManifest, m)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, n := range sizes {
		total += n
	}
	desc.Annotations = map[string]string{
		store.AnnotationID: cfgDigest.String(), store.AnnotationSize: strconv.FormatInt(total, 10),
		store.AnnotationLayerSizes: store.FormatLayerSizes(sizes), store.AnnotationCreated: created.Format(time.RFC3339Nano),
	}
	if parent != nil {
		desc.Annotations[store.AnnotationParent] = parent.ID.String()
	}
	return desc
}
