package store_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// entriesOf lists index.json's entries as "name digest" lines, "<none>" for
// an untagged one, sorted.
func entriesOf(t *testing.T, s *store.Store) []string {
	t.Helper()
	idx, err := s.ReadIndex()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range idx.Manifests {
		name := d.Annotations[ocispec.AnnotationRefName]
		if name == "" {
			name = "<none>"
		}
		out = append(out, name+" "+d.Digest.Encoded()[:8])
	}
	slices.Sort(out)
	return out
}

// ListImages (a load) moves a name the way Tag does: the image that loses
// its only name stays listed untagged, one that keeps another name loses
// only that entry, and the new holder's untagged entry takes the name.
func TestListImagesMovesNamesAsTag(t *testing.T) {
	s := openStore(t)
	l := makeLayer(t, map[string]string{"a": "1"})
	old := putImage(t, s, time.Unix(1, 0), "", l)
	both := putImage(t, s, time.Unix(2, 0), "", l)
	loaded := putImage(t, s, time.Unix(3, 0), "", l) // listed untagged, as a load's blobs would be
	for _, tag := range []struct {
		img  *store.Image
		name string
	}{{old, "a:1"}, {both, "b:1"}, {both, "b:2"}} {
		if _, err := s.Tag(tag.img.ID, tag.name); err != nil {
			t.Fatal(err)
		}
	}
	listed, err := s.ListImages([]store.NewImage{{
		Manifest: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: loaded.ManifestDigest, Size: loaded.ManifestSize},
		ID:       loaded.ID, LayerSizes: []int64{l.size},
		Refs: []string{"docker.io/library/a:1", "docker.io/library/b:1", "docker.io/library/c:1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Listed{
		{ID: loaded.ID, Ref: "docker.io/library/a:1", Replaced: old.ID},
		{ID: loaded.ID, Ref: "docker.io/library/b:1", Replaced: both.ID},
		{ID: loaded.ID, Ref: "docker.io/library/c:1"},
	}
	if !slices.Equal(listed, want) {
		t.Errorf("listed %+v\nwant %+v", listed, want)
	}
	short := func(img *store.Image) string { return img.ManifestDigest.Encoded()[:8] }
	wantEntries := []string{
		"<none> " + short(old),
		"docker.io/library/a:1 " + short(loaded),
		"docker.io/library/b:1 " + short(loaded),
		"docker.io/library/b:2 " + short(both),
		"docker.io/library/c:1 " + short(loaded),
	}
	slices.Sort(wantEntries)
	if got := entriesOf(t, s); !slices.Equal(got, wantEntries) {
		t.Errorf("index entries\n%v\nwant\n%v", got, wantEntries)
	}
	// Listing again changes nothing and replaces nobody.
	again, err := s.ListImages([]store.NewImage{{Manifest: ocispec.Descriptor{Digest: loaded.ManifestDigest, Size: loaded.ManifestSize}, ID: loaded.ID, Refs: []string{"docker.io/library/a:1"}}})
	if err != nil || len(again) != 1 || again[0].Replaced != "" {
		t.Errorf("again: %+v, %v", again, err)
	}
	if got := entriesOf(t, s); !slices.Equal(got, wantEntries) {
		t.Errorf("index entries after listing again\n%v\nwant\n%v", got, wantEntries)
	}
	storetest.ValidateAll(t, s.Root())
}

// A new entry gets Berth's facts (ID, size, layer sizes) and OCI's media
// type when none is given; an unnamed image is listed untagged, once.
func TestListImagesNewEntryFacts(t *testing.T) {
	src := openStore(t)
	l := makeLayer(t, map[string]string{"a": "1"})
	img := putImage(t, src, time.Unix(1, 0), "", l)
	s := openStore(t)
	for _, d := range []digest.Digest{img.Manifest.Layers[0].Digest, img.ID, img.ManifestDigest} {
		data, err := src.ReadBlob(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PutBlob(bytes.NewReader(data), d, int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	entry := store.NewImage{Manifest: ocispec.Descriptor{Digest: img.ManifestDigest, Size: img.ManifestSize}, ID: img.ID, LayerSizes: []int64{l.size}}
	for range 2 {
		listed, err := s.ListImages([]store.NewImage{entry})
		if err != nil || !slices.Equal(listed, []store.Listed{{ID: img.ID}}) {
			t.Fatalf("listed %+v, %v", listed, err)
		}
	}
	idx, err := s.ReadIndex()
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("%d entries, want 1", len(idx.Manifests))
	}
	d := idx.Manifests[0]
	if d.MediaType != ocispec.MediaTypeImageManifest || d.Annotations[store.AnnotationID] != img.ID.String() ||
		d.Annotations[store.AnnotationSize] != fmt.Sprint(l.size) || d.Annotations[store.AnnotationLayerSizes] != fmt.Sprint(l.size) ||
		d.Annotations[store.AnnotationCreated] == "" || d.Annotations[ocispec.AnnotationRefName] != "" {
		t.Errorf("entry %+v", d)
	}
	storetest.ValidateAll(t, s.Root())
}
