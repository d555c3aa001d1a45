package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A record that cannot be written says why and where, keeps errors.Is, and
// leaves no temporary file.
func TestWriteFileReplaceErrorNamesPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gone", "config.json")
	err := WriteFileReplace(path, []byte("{}"), 0o600)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v, want ENOENT", err)
	}
	if want := "no such file or directory while writing " + path; err.Error() != want {
		t.Errorf("err %q, want %q", err, want)
	}
	ok := filepath.Join(dir, "config.json")
	if err := WriteFileReplace(ok, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only config.json", len(entries))
	}
}
