package store

import (
	"bytes"
	"errors"
	"fmt"
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

// readFile reads what was written, whatever its size (an empty file, one
// shorter and one longer than its first guess), and says when the file is
// missing. A record written with mode 0600 (no chmod) has it; another mode
// is set.
func TestReadFileWholeFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 100_000} {
		path := filepath.Join(dir, fmt.Sprint(n))
		want := bytes.Repeat([]byte("r"), n)
		if err := WriteFileReplace(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d: read %d bytes, %v", n, len(got), err)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("size %d: mode %v %v", n, st.Mode(), err)
		}
	}
	wide := filepath.Join(dir, "wide")
	if err := WriteFileReplace(wide, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(wide); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode 0644 asked: %v %v", st.Mode(), err)
	}
	if _, err := readFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// WriteFileInPlace creates a file with its mode, and rewrites one keeping
// its inode (a bind mount of it sees the new content), shorter content
// leaving nothing of the old behind.
func TestWriteFileInPlaceKeepsTheInode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hosts")
	if err := WriteFileInPlace(p, []byte("127.0.0.1\tlocalhost\nlonger line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if before.Mode().Perm()&0o600 != 0o600 || !before.Mode().IsRegular() {
		t.Errorf("mode %v", before.Mode())
	}
	if err := WriteFileInPlace(p, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the rewrite replaced the file")
	}
	if data, _ := os.ReadFile(p); string(data) != "short\n" {
		t.Errorf("content %q", data)
	}
	if err := WriteFileInPlace(filepath.Join(t.TempDir(), "no", "such"), []byte("x"), 0o644); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("write into a missing dir: %v", err)
	}
}
