package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/berthkit/berth/engine/store"
)

// TestCLIQueries: the store's answers the CLI asks through the engine.
func TestCLIQueries(t *testing.T) {
	e := imgEngine(t)
	ctx := context.Background()
	img := imgPut(t, e, nil, "one", imgLayerTar(t, imgFile{name: "a", data: "hello"}))
	imgTag(t, e, img, "busybox:1", "localhost:5000/busybox:x")
	imgPut(t, e, nil, "untagged", imgLayerTar(t, imgFile{name: "b", data: "x"}))

	names, err := e.ImageNames()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	want := []string{"docker.io/library/busybox:1", "localhost:5000/busybox:x"}
	if len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
		t.Errorf("ImageNames = %q, want %q", names, want)
	}

	for _, name := range []string{"busybox:1", img.ID.String(), img.ShortID()} {
		got, err := e.LookupImage(name)
		if err != nil || got.ID != img.ID {
			t.Errorf("LookupImage(%s) = %v, %v; want %s", name, got, err, img.ID)
		}
	}
	if _, err := e.LookupImage("nosuch:1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LookupImage(nosuch:1) = %v, want ErrNotFound", err)
	}

	v, err := e.CreateVolume(ctx, "data", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := e.VolumeSize("data"); got != 1000 {
		t.Errorf("VolumeSize(data) = %d, want 1000", got)
	}
	if got := e.VolumeSize("nosuch"); got != 0 {
		t.Errorf("VolumeSize(nosuch) = %d, want 0", got)
	}
}
