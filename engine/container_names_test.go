//go:build linux

package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
)

// TestRenameFreesOldName: a rename takes the new name's index entry,
// then the record, then drops the old entry, so the old name is free at
// once and the new one is taken, with Docker's conflict message.
func TestRenameFreesOldName(t *testing.T) {
	e, _ := ctrEngine(t)
	ctx := context.Background()
	a := ctrCreate(t, e, engine.ContainerCreateOptions{Name: "first", Cmd: []string{"true"}})
	if err := e.RenameContainer(ctx, "first", "second"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Container(ctx, "second"); err != nil || got.ID != a.ID {
		t.Fatalf("second is %v, %v; want %s", got, err, a.ID)
	}
	if _, err := e.Container(ctx, "first"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("first still found: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(e.Store.Root(), "container-names", "first")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old entry left: %v", err)
	}
	b := ctrCreate(t, e, engine.ContainerCreateOptions{Name: "first", Cmd: []string{"true"}})
	err := e.RenameContainer(ctx, b.ID, "/second")
	want := `Error when allocating new name: Conflict. The container name "/second" is already in use by container "` + a.ID + `". You have to remove (or rename) that container to be able to reuse that name.: conflict`
	if !errors.Is(err, store.ErrConflict) || err.Error() != want {
		t.Fatalf("rename onto a taken name: %v", err)
	}
	if got, err := e.Container(ctx, "first"); err != nil || got.ID != b.ID {
		t.Fatalf("first is %v, %v; want %s", got, err, b.ID)
	}
	// Generated names are unique and indexed too.
	seen := map[string]bool{"first": true, "second": true}
	for range 20 {
		c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"true"}})
		if seen[c.Name] {
			t.Fatalf("name %s given twice", c.Name)
		}
		seen[c.Name] = true
		if got, err := e.Container(ctx, c.Name); err != nil || got.ID != c.ID {
			t.Fatalf("%s is %v, %v", c.Name, got, err)
		}
	}
}
