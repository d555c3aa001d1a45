package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// cacheTestIndex is index.json of a store after n uncached builds on one
// base: n untagged step images (ID, parent, size and time annotations,
// as PutImage lists them) and the tagged base.
func cacheTestIndex(n int) []byte {
	idx := newIndex()
	base := digest.FromString("base config").String()
	stored := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	for i := range n {
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest,
			Digest: digest.FromString(fmt.Sprint("m", i)), Size: 405, Annotations: map[string]string{
				AnnotationID: digest.FromString(fmt.Sprint("cfg", i)).String(), AnnotationParent: base,
				AnnotationSize: "2138112", AnnotationCreated: stored.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)}})
	}
	idx.Manifests = append(idx.Manifests, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest,
		Digest: digest.FromString("base"), Size: 405, Annotations: map[string]string{
			AnnotationID: base, ocispec.AnnotationRefName: "docker.io/library/busybox:latest", AnnotationSize: "2138112"}})
	data, _ := json.MarshalIndent(sortedCopy(idx), "", "  ")
	return data
}

// BenchmarkIndexReadScan is what every build process does first with
// index.json, per entry (the cache curve's slope, docs/performance.md):
// read the file and summarise its entries.
//
//	go test -run '^$' -bench IndexReadScan ./engine/store
func BenchmarkIndexReadScan(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "index.json")
			if err := os.WriteFile(path, cacheTestIndex(n), 0o644); err != nil {
				b.Fatal(err)
			}
			st, _ := os.Stat(path)
			for b.Loop() {
				text, err := readText(path, st.Size())
				if err != nil {
					b.Fatal(err)
				}
				v, ok := scanIndex(text)
				if !ok || len(v.sums) != n+1 || !v.canonical || !v.has(v.sums[n/2].digest) {
					b.Fatalf("scan: %v", ok)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
		})
	}
}

// BenchmarkScanIndex is the scan alone, per entry.
func BenchmarkScanIndex(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			text := string(cacheTestIndex(n))
			for b.Loop() {
				if v, ok := scanIndex(text); !ok || len(v.sums) != n+1 {
					b.Fatal("scan failed")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
		})
	}
}
