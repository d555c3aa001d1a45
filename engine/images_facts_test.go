package engine

import (
	"fmt"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
)

// usedBy answers from an index built once, with the same containers a scan
// finds: both ID spellings (with and without "sha256:") count.
func TestUsedByIndexesContainersOnce(t *testing.T) {
	a, b := digest.FromString("a"), digest.FromString("b")
	var cs []*store.Container
	for i := range 10 {
		img := a.String()
		if i%2 == 1 {
			img = b.Encoded()
		}
		cs = append(cs, &store.Container{ID: fmt.Sprint(i), Image: img})
	}
	f := &imageFacts{containers: cs}
	if got := len(f.usedBy(a)); got != 5 {
		t.Errorf("usedBy(a) = %d containers, want 5", got)
	}
	if got := len(f.usedBy(b)); got != 5 {
		t.Errorf("usedBy(b) = %d containers, want 5", got)
	}
	if got := len(f.usedBy(digest.FromString("none"))); got != 0 {
		t.Errorf("usedBy(none) = %d, want 0", got)
	}
	f.containers = nil // the index, built once, answers without scanning again
	if got := len(f.usedBy(a)); got != 5 {
		t.Errorf("usedBy(a) after indexing = %d, want 5", got)
	}
}
