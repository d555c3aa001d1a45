package store

// Benchmarks of image lookup, which every command does at least once and a
// cached build does once per step (the cache entry names an image ID that
// must still exist). Stores of 10 and 1,000 images: every build step makes
// an image, so a store that served a course's builds has hundreds.
//
//	go test -run '^$' -bench . -benchmem ./engine/store
//
// "new-process" opens the store for each lookup, as a CLI command does, so
// nothing parsed by an earlier lookup helps; "warm" reuses one open store.

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// benchStore is a store of n images chained like build steps (each the
// parent of the next), every tenth one tagged bench/img<i>:latest.
type benchStore struct {
	root string
	ids  []digest.Digest
	tags map[int]string
}

// seedBenchStore writes the blobs directly (no fsync per blob) and lists
// every image in one index update, so a 1,000-image store takes a moment.
// The entries are what an older Berth wrote (no AnnotationID); tags go
// through Tag.
func seedBenchStore(tb testing.TB, n int) *benchStore {
	return seedStore(tb, n, seedOptions{})
}

// seedOptions say how seedStore lists its images.
type seedOptions struct {
	// ids gives every entry AnnotationID, as PutImage does.
	ids bool
	// namesInIndex writes every tenth image's name into its entry, as Tag
	// would, instead of calling Tag (a store of 10,000 images then takes
	// one index write, not 1,000).
	namesInIndex bool
}

// seedStore is seedBenchStore with options.
func seedStore(tb testing.TB, n int, o seedOptions) *benchStore {
	tb.Helper()
	bs := &benchStore{root: tb.TempDir(), tags: map[int]string{}}
	s, err := Open(bs.root)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	put := func(data []byte) digest.Digest {
		d := digest.FromBytes(data)
		if err := os.WriteFile(s.BlobPath(d), data, 0o644); err != nil {
			tb.Fatal(err)
		}
		return d
	}
	var entries []ocispec.Descriptor
	for i := range n {
		created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
		cfg := ocispec.Image{Created: &created, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
			Config:  ocispec.ImageConfig{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, Cmd: []string{"sh"}},
			RootFS:  ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}},
			History: []ocispec.History{{Created: &created, CreatedBy: fmt.Sprintf("/bin/sh -c echo step %d", i), EmptyLayer: true}}}
		cfgData, err := marshalConfig(cfg, ExtConfig{})
		if err != nil {
			tb.Fatal(err)
		}
		cfgDigest := put(cfgData)
		manifest, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
			Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgDigest, Size: int64(len(cfgData))},
			Layers: []ocispec.Descriptor{}})
		if err != nil {
			tb.Fatal(err)
		}
		ann := map[string]string{AnnotationSize: "0", AnnotationCreated: created.Format(time.RFC3339Nano)}
		if i > 0 {
			ann[AnnotationParent] = bs.ids[i-1].String()
		}
		if o.ids {
			ann[AnnotationID] = cfgDigest.String()
		}
		if o.namesInIndex && i%10 == 0 {
			bs.tags[i] = fmt.Sprintf("docker.io/bench/img%d:latest", i)
			ann[ocispec.AnnotationRefName] = bs.tags[i]
		}
		entries = append(entries, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: put(manifest), Size: int64(len(manifest)), Annotations: ann})
		bs.ids = append(bs.ids, cfgDigest)
	}
	if err := s.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests = append(idx.Manifests, entries...)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n && !o.namesInIndex; i += 10 {
		bs.tags[i] = fmt.Sprintf("bench/img%d:latest", i)
		if _, err := s.Tag(bs.ids[i], bs.tags[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return bs
}

func BenchmarkImageLookup(b *testing.B) {
	for _, n := range []int{10, 1000} {
		bs := seedBenchStore(b, n)
		mid := (n / 20) * 10 // a tagged image in the middle
		queries := []struct {
			name, ref string
			want      digest.Digest // "" = not found
		}{
			{"tag", bs.tags[mid], bs.ids[mid]},
			{"short-id", bs.ids[mid].Encoded()[:12], bs.ids[mid]},
			{"missing", "nosuch:latest", ""},
		}
		check := func(b *testing.B, img *Image, err error, want digest.Digest) {
			if want == "" {
				if err == nil {
					b.Fatalf("found %s for a name that is not there", img.ID)
				}
				return
			}
			if err != nil || img.ID != want {
				b.Fatalf("lookup: %v (image %v, want %s)", err, img, want)
			}
		}
		for _, q := range queries {
			b.Run(fmt.Sprintf("images=%d/%s/new-process", n, q.name), func(b *testing.B) {
				var img *Image
				var err error
				for b.Loop() {
					s, oerr := Open(bs.root)
					if oerr != nil {
						b.Fatal(oerr)
					}
					img, err = s.Image(q.ref)
					s.Close()
				}
				check(b, img, err, q.want)
			})
		}
		b.Run(fmt.Sprintf("images=%d/tag/warm", n), func(b *testing.B) {
			s, err := Open(bs.root)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var img *Image
			for b.Loop() {
				img, err = s.Image(queries[0].ref)
			}
			check(b, img, err, queries[0].want)
		})
	}
}

// BenchmarkCacheGet is the build cache's half of a probe: one small JSON
// file per (parent, key), read and checked.
func BenchmarkCacheGet(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	parent := digest.FromString("parent")
	for i := range 100 {
		if err := s.CachePut(CacheEntry{Parent: parent, Key: fmt.Sprintf("/bin/sh -c echo %d", i), Image: digest.FromString(fmt.Sprint(i))}); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []struct {
		name, key string
		hit       bool
	}{{"hit", "/bin/sh -c echo 42", true}, {"miss", "/bin/sh -c echo nope", false}} {
		b.Run(q.name, func(b *testing.B) {
			var ok bool
			var e *CacheEntry
			for b.Loop() {
				e, ok = s.CacheGet(parent, q.key)
			}
			if ok != q.hit || (ok && e.Image != digest.FromString("42")) {
				b.Fatalf("CacheGet(%q) = %v, %v; want hit=%v", q.key, e, ok, q.hit)
			}
		})
	}
}

// BenchmarkTag moves a name between two images of a store of n, as
// `berth tag` and the end of `build -t` do, and tags an image with the
// name it has (nothing to write). Every entry carries AnnotationID, as
// PutImage writes them: no manifest is read, so what grows with n is only
// index.json's own read and write.
func BenchmarkTag(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		bs := seedStore(b, n, seedOptions{ids: true, namesInIndex: true})
		s, err := Open(bs.root)
		if err != nil {
			b.Fatal(err)
		}
		a, c := bs.ids[n/2+1], bs.ids[n-1]
		b.Run(fmt.Sprintf("images=%d/move", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				id := a
				if i%2 == 1 {
					id = c
				}
				i++
				if _, err := s.Tag(id, "bench/moving:latest"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("images=%d/unchanged", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Tag(c, "bench/moving:latest"); err != nil {
					b.Fatal(err)
				}
			}
		})
		if got := s.manifestReads.Load(); got != 0 {
			b.Errorf("%d manifests read", got)
		}
		s.Close()
	}
}
