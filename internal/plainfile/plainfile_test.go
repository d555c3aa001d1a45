package plainfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestReadFileMatchesOSReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 511, 512, 4096, 100_000} {
		path := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("nameserver 10.0.0.1\n"), size/20+1)[:size]
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: read %d bytes, want %d", size, len(got), len(want))
		}
	}
}

func TestErrorsNameThePath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := ReadFile(missing)
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("ReadFile(missing) = %v, want a not-exist *PathError naming %s", err, missing)
	}
	if runtime.GOOS == "windows" {
		return
	}
	dir := t.TempDir()
	_, err = ReadFile(dir)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("ReadFile(dir) = %v, want an error naming %s", err, dir)
	}
}

func TestOpenReadsADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil || len(names) != 1 || names[0] != "a" {
		t.Fatalf("Readdirnames = %v, %v; want [a]", names, err)
	}
}
