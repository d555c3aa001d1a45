package store

// Tag, Untag and DeleteImage find an index entry's image by its
// AnnotationID, which every entry Berth writes carries, and read a
// manifest only for an entry without it. They used to read every manifest
// in the store: a `build -t` in a store of 600 images opened 600 blobs.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func openSeeded(t *testing.T, bs *benchStore) *Store {
	t.Helper()
	s, err := Open(bs.root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// refsOf maps every name in index.json to the manifest it is on.
func refsOf(t *testing.T, s *Store) map[string]digest.Digest {
	t.Helper()
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]digest.Digest{}
	for _, d := range idx.Manifests {
		if ref := d.Annotations[ocispec.AnnotationRefName]; ref != "" {
			refs[ref] = d.Digest
		}
	}
	return refs
}

// manifestOf is the manifest digest of bs's image i.
func manifestOf(t *testing.T, s *Store, id digest.Digest) digest.Digest {
	t.Helper()
	img, err := s.Image(id.String())
	if err != nil {
		t.Fatal(err)
	}
	return img.ManifestDigest
}

// The manifests read by a tag, a name moved, a tag that changes nothing,
// an untag and a delete do not grow with the store: none at all when
// every entry carries its ID.
func TestTagReadsNoManifestPerImage(t *testing.T) {
	for _, n := range []int{10, 300} {
		t.Run(fmt.Sprintf("images=%d", n), func(t *testing.T) {
			bs := seedStore(t, n, seedOptions{ids: true, namesInIndex: true})
			s := openSeeded(t, bs)
			last, moved := bs.ids[n-1], bs.ids[n/2+1]
			if prev, err := s.Tag(last, "fresh:1"); err != nil || prev != "" {
				t.Fatalf("tag fresh:1 = %q, %v; want no previous holder", prev, err)
			}
			if prev, err := s.Tag(moved, bs.tags[0]); err != nil || prev != bs.ids[0] {
				t.Fatalf("moving %s = %q, %v; want previous %s", bs.tags[0], prev, err, bs.ids[0])
			}
			writes := s.indexWrites.Load()
			if prev, err := s.Tag(moved, bs.tags[0]); err != nil || prev != "" || s.indexWrites.Load() != writes {
				t.Fatalf("tagging again = %q, %v (%d index writes); want unchanged", prev, err, s.indexWrites.Load()-writes)
			}
			if id, err := s.Untag("fresh:1"); err != nil || id != last {
				t.Fatalf("untag = %s, %v; want %s", id, err, last)
			}
			if err := s.DeleteImage(last); err != nil {
				t.Fatal(err)
			}
			if got := s.manifestReads.Load(); got != 0 {
				t.Errorf("%d manifests read by tag, untag and delete in a store of %d images; want 0", got, n)
			}
			refs := refsOf(t, s)
			if refs["docker.io/library/fresh:1"] != "" || refs[bs.tags[0]] != manifestOf(t, s, moved) {
				t.Errorf("names after: %v", refs)
			}
			if _, err := s.Image(last.String()); !errors.Is(err, ErrNotFound) {
				t.Errorf("deleted image still found: %v", err)
			}
		})
	}
}

// The other images' manifests are not needed: with them gone (a damaged
// store), a tag still finds its image and moves its name.
func TestTagWithOtherManifestsMissing(t *testing.T) {
	bs := seedStore(t, 50, seedOptions{ids: true, namesInIndex: true})
	s := openSeeded(t, bs)
	target := bs.ids[45]
	keep := manifestOf(t, s, target)
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range idx.Manifests {
		if d.Digest != keep {
			if err := os.Remove(s.BlobPath(d.Digest)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if prev, err := s.Tag(target, bs.tags[10]); err != nil || prev != bs.ids[10] {
		t.Fatalf("tag = %q, %v; want previous %s", prev, err, bs.ids[10])
	}
	if got := refsOf(t, s)[bs.tags[10]]; got != keep {
		t.Errorf("%s is on %s, want %s", bs.tags[10], got, keep)
	}
}

// A store whose entries lack AnnotationID (an older Berth, an OCI layout
// from elsewhere) still tags, moves and untags by reading the manifests.
func TestTagEntriesWithoutAnnotation(t *testing.T) {
	bs := seedStore(t, 20, seedOptions{namesInIndex: true})
	s := openSeeded(t, bs)
	if prev, err := s.Tag(bs.ids[15], bs.tags[0]); err != nil || prev != bs.ids[0] {
		t.Fatalf("moving %s = %q, %v; want previous %s", bs.tags[0], prev, err, bs.ids[0])
	}
	if s.manifestReads.Load() == 0 {
		t.Error("no manifest read: the IDs of entries without AnnotationID come from their manifests")
	}
	writes := s.indexWrites.Load()
	if prev, err := s.Tag(bs.ids[15], bs.tags[0]); err != nil || prev != "" || s.indexWrites.Load() != writes {
		t.Fatalf("tagging again = %q, %v; want unchanged", prev, err)
	}
	if id, err := s.Untag(bs.tags[0]); err != nil || id != bs.ids[15] {
		t.Fatalf("untag = %s, %v; want %s", id, err, bs.ids[15])
	}
	if _, err := s.Tag(digest.FromString("none"), "x:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("tag of an image not stored: %v, want not found", err)
	}
}

// corruptManifest overwrites the manifest blob of image id (its digest
// no longer matches) and returns the manifest's digest.
func corruptManifest(t *testing.T, s *Store, id digest.Digest) digest.Digest {
	t.Helper()
	m := manifestOf(t, s, id)
	if err := os.WriteFile(s.BlobPath(m), []byte("{not a manifest"), 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

// A damaged manifest of an entry without AnnotationID, met before the
// image to tag, is an error as before (it might have been that image), and
// index.json is left as it was. With the annotation, the entry's manifest
// is never read, so its damage does not stop a tag of another image.
func TestTagDamagedManifest(t *testing.T) {
	for _, withID := range []bool{false, true} {
		t.Run(fmt.Sprintf("annotated=%v", withID), func(t *testing.T) {
			bs := seedStore(t, 12, seedOptions{ids: withID, namesInIndex: true})
			s := openSeeded(t, bs)
			// Untagged entries sort by digest: one of the untagged images'
			// manifests sorts first.
			idx, err := s.readIndex()
			if err != nil {
				t.Fatal(err)
			}
			first := idx.Manifests[0]
			if first.Annotations[ocispec.AnnotationRefName] != "" {
				t.Fatalf("first entry %v is tagged", first.Annotations)
			}
			damaged := digest.Digest(first.Annotations[AnnotationID])
			target := bs.ids[11]
			if damaged == "" {
				cfg, err := s.configDigest(first.Digest)
				if err != nil {
					t.Fatal(err)
				}
				damaged = cfg
			}
			if damaged == target {
				target = bs.ids[9]
			}
			corruptManifest(t, s, damaged)
			before := refsOf(t, s)
			_, err = s.Tag(target, "after:1")
			if withID {
				if err != nil {
					t.Fatalf("tag with an unrelated damaged manifest: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidDigest) {
				t.Fatalf("tag = %v; want the damaged manifest's error", err)
			}
			if after := refsOf(t, s); len(after) != len(before) {
				t.Errorf("names changed by a failed tag: %v", after)
			}
		})
	}
}

// An entry whose AnnotationID disagrees with its manifest (index.json
// edited by hand) is taken at its annotation's word, as every lookup of
// the index does (Image by ID, ImageBriefs, imageWhere): the tag goes to
// the entry the annotation names. `berth image validate` reports the lie.
func TestTagForgedAnnotation(t *testing.T) {
	bs := seedStore(t, 6, seedOptions{ids: true})
	s := openSeeded(t, bs)
	actual, claimed := bs.ids[2], digest.FromString("forged image id")
	m := manifestOf(t, s, actual)
	err := s.UpdateIndex(func(idx *ocispec.Index) error {
		for i, d := range idx.Manifests {
			if d.Digest == m {
				idx.Manifests[i].Annotations[AnnotationID] = claimed.String()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tag(claimed, "forged:1"); err != nil {
		t.Fatalf("tag by the annotation's ID: %v", err)
	}
	if got := refsOf(t, s)["docker.io/library/forged:1"]; got != m {
		t.Errorf("forged:1 is on %s, want the entry claiming %s (%s)", got, claimed, m)
	}
	if _, err := s.Tag(actual, "real:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("tag by the manifest's config ID = %v; want not found (the index says the entry is another image)", err)
	}
	img, err := s.Image("forged:1")
	if err != nil {
		t.Fatal(err)
	}
	var verr *ValidationError
	if err := Validate(s, img); !errors.As(err, &verr) || !containsProblem(verr, "image ID") {
		t.Errorf("validate = %v; want the ID annotation reported", err)
	}
}

func containsProblem(e *ValidationError, part string) bool {
	for _, p := range e.Problems {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}

// A tag or untag on the raw view of index.json writes byte for byte what
// the parsed way writes, over a run of tags that name untagged images,
// move names from images with one entry and with several, give a second
// name and change nothing, and untags of names held or not, without
// parsing the index.
func TestRawTagMatchesParsedTag(t *testing.T) {
	seeded, twin := seedStore(t, 40, seedOptions{ids: true, namesInIndex: true}), seedStore(t, 40, seedOptions{ids: true, namesInIndex: true})
	if !slices.Equal(seeded.ids, twin.ids) {
		t.Fatal("the seeded stores differ")
	}
	raw, parsed := openSeeded(t, seeded), openSeeded(t, twin)
	ids := []digest.Digest{digest.FromString("not stored")}
	for i := 0; i < 40; i += 3 {
		ids = append(ids, seeded.ids[i])
	}
	names := []string{"a:1", "b:1", "docker.io/bench/img0:latest", "docker.io/bench/img30:latest", "z/z:9"}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	for step := range 200 {
		id, name := ids[rng.IntN(len(ids))], names[rng.IntN(len(names))]
		if _, err := parsed.readIndex(); err != nil { // the parsed index is current: Tag takes the parsed way
			t.Fatal(err)
		}
		verb, do := "tag", func(s *Store) (digest.Digest, error) { return s.Tag(id, name) }
		if rng.IntN(4) == 0 {
			verb, do = "untag", func(s *Store) (digest.Digest, error) { return s.Untag(name) }
		}
		wantPrev, wantErr := do(parsed)
		gotPrev, gotErr := do(raw)
		if gotPrev != wantPrev || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("step %d, %s %s %s: raw %q, %v; parsed %q, %v", step, verb, id, name, gotPrev, gotErr, wantPrev, wantErr)
		}
		seen[fmt.Sprintf("%s ok=%v previous=%v", verb, gotErr == nil, gotPrev != "")]++
		got, err := os.ReadFile(raw.indexPath())
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(parsed.indexPath())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("step %d, %s %s %s: raw index.json differs:\n%s\nparsed:\n%s", step, verb, id, name, got, want)
		}
	}
	for _, kind := range []string{"tag ok=true previous=true", "tag ok=true previous=false", "tag ok=false previous=false",
		"untag ok=true previous=true", "untag ok=false previous=false"} {
		if seen[kind] == 0 {
			t.Errorf("no step of kind %q: %v", kind, seen)
		}
	}
	if n := raw.indexParses.Load(); n != 0 {
		t.Errorf("raw tags parsed index.json %d times", n)
	}
}
