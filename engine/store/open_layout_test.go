package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A fresh store gets oci-layout and an empty index.json, both in place with
// their modes and no temporary file beside them; index.json counts as one
// write and is kept parsed.
func TestOpenCreatesTheLayoutFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, want := range map[string]string{
		"oci-layout": `{"imageLayoutVersion":"1.0.0"}`,
		"index.json": `"manifests": []`,
	} {
		path := filepath.Join(root, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), want) {
			t.Errorf("%s = %q, want it to hold %q", name, data, want)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", name, st.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left in the store", e.Name())
		}
	}
	if n := s.indexWrites.Load(); n != 1 {
		t.Errorf("index.json written %d times, want 1", n)
	}
	images, err := s.Images()
	if err != nil || len(images) != 0 {
		t.Errorf("fresh store lists %d images, %v", len(images), err)
	}
	if n := s.indexParses.Load(); n != 0 {
		t.Errorf("index.json parsed back %d times after Open wrote it", n)
	}

	// Opened again, nothing is rewritten.
	s2, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n := s2.indexWrites.Load(); n != 0 {
		t.Errorf("a second Open wrote index.json %d times", n)
	}
}

// writeNewFiles never replaces a file another process created meanwhile
// (an Open racing this one, or one that already pulled into the store),
// and leaves no temporary file either way.
func TestWriteNewFilesKeepsAFileMadeMeanwhile(t *testing.T) {
	dir := t.TempDir()
	theirs := []byte(`{"schemaVersion":2,"manifests":[{"their":"image"}]}`)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), theirs, 0o644); err != nil {
		t.Fatal(err)
	}
	created, err := writeNewFiles(dir, 0o644, []newFile{
		{name: "oci-layout", data: []byte("layout")},
		{name: "index.json", data: []byte("empty")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !created[0] || created[1] {
		t.Errorf("created %v, want [true false]", created)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "index.json")); string(data) != string(theirs) {
		t.Errorf("index.json replaced: %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "oci-layout")); string(data) != "layout" {
		t.Errorf("oci-layout = %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the two files", names)
	}
}
