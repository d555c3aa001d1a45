package storetest

import (
	"testing"

	"github.com/berthkit/berth/engine/store"
)

// ValidateAll opens the store at root and validates the layout and every
// image in it with store.ValidateLayout and store.Validate, reporting each
// problem as a test error. It returns the images it checked, newest first.
//
// It opens a second handle on the store, so it can run while the code under
// test still holds its own.
func ValidateAll(t testing.TB, root string) []*store.Image {
	t.Helper()
	s, err := store.Open(root)
	if err != nil {
		t.Fatalf("storetest: open store %s: %v", root, err)
	}
	defer s.Close()
	if err := store.ValidateLayout(s); err != nil {
		t.Errorf("storetest: %v", err)
	}
	images, err := s.Images()
	if err != nil {
		t.Fatalf("storetest: list images in %s: %v", root, err)
	}
	for _, img := range images {
		if err := store.Validate(s, img); err != nil {
			t.Errorf("storetest: %v", err)
		}
	}
	return images
}

// Open opens a fresh store in a temporary directory, closed when the test
// ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatalf("storetest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
