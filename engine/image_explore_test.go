package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// Wasted space is charged to the layer whose file a later layer overwrites
// or removes (a whiteout, a removed directory, an opaque directory).
func TestExploreImage(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	base := imgPut(t, e, nil, "base", imgLayerTar(t,
		imgFile{"etc/", ""}, imgFile{"etc/passwd", "root"}, imgFile{"var/", ""}, imgFile{"var/cache/", ""},
		imgFile{"var/cache/a", "aaaaaaaa"}, imgFile{"var/cache/sub/", ""}, imgFile{"var/cache/sub/b", "bbbbbbbbbbbbbbbb"},
		imgFile{"tmp/", ""}, imgFile{"tmp/x", "xx"}, imgFile{"keep", "k"}))
	mid := imgPut(t, e, base, "edit", imgLayerTar(t,
		imgFile{"etc/", ""}, imgFile{"etc/passwd", "root2"}, imgFile{"etc/redis.conf", "conf"}, imgFile{"tmp/", ""}, imgFile{"tmp/.wh.x", ""}))
	top := imgPut(t, e, mid, "clean", imgLayerTar(t,
		imgFile{"var/", ""}, imgFile{"var/cache/", ""}, imgFile{"var/cache/.wh..wh..opq", ""}, imgFile{"var/cache/new", "n"},
		imgFile{"etc/", ""}, imgFile{"etc/passwd", "root3"}))
	x, err := e.ExploreImage(ctx, top.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(x.Layers))
	for i, l := range x.Layers {
		var parts []string
		for _, f := range l.Files {
			s := fmt.Sprintf("%s %s %d", f.Kind, f.Path, f.Size)
			if f.Hidden {
				s += " hidden"
			}
			parts = append(parts, s)
		}
		got[i] = fmt.Sprintf("%s wasted=%d: %s", l.CreatedBy, l.Wasted, strings.Join(parts, ", "))
	}
	want := []string{
		// passwd (4, overwritten), a (8) and sub/b (16, opaque dir), x (2, whiteout)
		"base wasted=30: A /etc 0, A /etc/passwd 4 hidden, A /keep 1, A /tmp 0, A /tmp/x 2 hidden, A /var 0, A /var/cache 0, A /var/cache/a 8 hidden, A /var/cache/sub 0 hidden, A /var/cache/sub/b 16 hidden",
		// passwd (5) overwritten by the top layer; a directory written again is not hidden
		"edit wasted=5: C /etc 0, C /etc/passwd 5 hidden, A /etc/redis.conf 4, C /tmp 0, D /tmp/x 0",
		"clean wasted=0: C /etc 0, C /etc/passwd 5, C /var 0, C /var/cache 0, D /var/cache/a 0, A /var/cache/new 1, D /var/cache/sub 0",
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("layer %d:\n got %q\nwant %q", i+1, got[i], want[i])
		}
	}
	if x.Wasted != 35 {
		t.Errorf("image wastes %d bytes, want 35", x.Wasted)
	}
	var sum int64
	for _, l := range x.Layers {
		sum += l.Size
	}
	if x.Size != sum || sum == 0 {
		t.Errorf("image size %d, layers sum to %d", x.Size, sum)
	}
	if _, err := e.ExploreImage(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "No such image: nope:latest") {
		t.Errorf("a missing image: %v", err)
	}
}
