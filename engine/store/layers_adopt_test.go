package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// A directory becomes a layer only after what was written in it is synced
// (a build step's volatile overlay synced nothing at its exit); a layer
// already there is not synced for, and a failed sync adopts nothing.
func TestAdoptLayerDirSyncsFirst(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var synced []string
	var hadFile []bool // the written file was still in dir when synced
	old := syncAdopted
	t.Cleanup(func() { syncAdopted = old })
	syncAdopted = func(dir string) error {
		_, err := os.Stat(filepath.Join(dir, "f"))
		synced, hadFile = append(synced, dir), append(hadFile, err == nil)
		return old(dir)
	}
	upper := func() string { // on the store's file system, as a container's is
		dir, err := os.MkdirTemp(s.TmpDir(), "upper-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	chain := digest.FromString("adopted")

	dir := upper()
	if err := s.AdoptLayerDir(chain, dir); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir || !hadFile[0] {
		t.Fatalf("synced %q (with the file in it: %v), want %s once, before its adoption", synced, hadFile, dir)
	}
	if _, err := os.Stat(filepath.Join(s.LayerDir(chain), "f")); err != nil {
		t.Fatalf("not adopted: %v", err)
	}

	again := upper()
	if err := s.AdoptLayerDir(chain, again); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 {
		t.Errorf("a layer already there was synced for: %q", synced)
	}

	refused := errors.New("disk gone")
	syncAdopted = func(string) error { return refused }
	other := digest.FromString("not adopted")
	dir = upper()
	if err := s.AdoptLayerDir(other, dir); !errors.Is(err, refused) {
		t.Fatalf("AdoptLayerDir with a failing sync = %v, want %v", err, refused)
	}
	if s.hasLayerDir(other) {
		t.Error("a directory whose sync failed was adopted")
	}
	if _, err := os.Stat(filepath.Join(dir, "f")); err != nil {
		t.Errorf("a directory whose sync failed lost its content: %v", err)
	}
}
