package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Both writes replace the content whole with the permissions asked and
// leave no temporary file; a record's write names its path when it fails.
func TestWriteFileBothWays(t *testing.T) {
	for name, write := range map[string]func(string, []byte, os.FileMode) error{
		"atomic": WriteFileAtomic, "replace": WriteFileReplace,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "index.json")
			for _, content := range []string{`{"a":1}`, `{}`} {
				if err := write(path, []byte(content), 0o640); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(path)
				if err != nil || string(got) != content {
					t.Fatalf("content %q, %v; want %q", got, err, content)
				}
			}
			if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640", st.Mode().Perm())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("dir holds %d entries, want only index.json", len(entries))
			}
			missing := filepath.Join(dir, "gone", "x.json")
			err := write(missing, []byte("{}"), 0o600)
			if !errors.Is(err, os.ErrNotExist) || name == "replace" && err.Error() != "no such file or directory while writing "+missing {
				t.Errorf("err %v, want ENOENT naming %s", err, missing)
			}
		})
	}
}
