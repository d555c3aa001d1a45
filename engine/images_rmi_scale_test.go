package engine_test

import (
	"context"
	"os"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/opencontainers/go-digest"
)

// rmi of one of an image's names removes only that name and needs only
// that image: with every other image's manifest gone (a damaged store,
// which `rmi` of a last name would report), it still works. It used to
// read every manifest and config in the store first.
func TestRemoveImageOneOfManyNamesReadsOnlyThatImage(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	base := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
	other := imgPut(t, e, base, "other", imgLayerTar(t, imgFile{"b", "2"}))
	app := imgPut(t, e, base, "app", imgLayerTar(t, imgFile{"c", "3"}))
	imgTag(t, e, app, "app:1", "app:2")
	imgTag(t, e, other, "other:1")
	for _, m := range []digest.Digest{base.ManifestDigest, other.ManifestDigest} {
		data, err := os.ReadFile(e.Store.BlobPath(m))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(e.Store.BlobPath(m)); err != nil {
			t.Fatal(err)
		}
		// Put back before the engine's own check of the store at the end.
		t.Cleanup(func() {
			if err := os.WriteFile(e.Store.BlobPath(m), data, 0o644); err != nil {
				t.Error(err)
			}
		})
	}
	recs, err := e.RemoveImage(ctx, "app:1", engine.RemoveImageOptions{})
	if err != nil || len(recs) != 1 || recs[0].Untagged != "app:1" {
		t.Fatalf("rmi app:1 = %+v, %v", recs, err)
	}
	img, err := e.Store.Image("app:2")
	if err != nil || img.ID != app.ID || len(img.Refs) != 1 {
		t.Fatalf("app:2 after = %v, %v", img, err)
	}
	if _, err := e.Store.Image("app:1"); err == nil {
		t.Error("app:1 still names an image")
	}
	// The last name takes the whole way, which needs every image: the
	// damage is reported, nothing is removed.
	if _, err := e.RemoveImage(ctx, "app:2", engine.RemoveImageOptions{}); err == nil {
		t.Error("rmi of the last name in a damaged store succeeded")
	}
	if _, err := e.Store.Image("app:2"); err != nil {
		t.Errorf("app:2 after a failed rmi: %v", err)
	}
}
