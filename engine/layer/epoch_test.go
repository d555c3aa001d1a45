//go:build linux

package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDiffEpochClamps checks SOURCE_DATE_EPOCH's rule: entries newer than
// the epoch get the epoch as modification time, older ones keep theirs.
func TestDiffEpochClamps(t *testing.T) {
	upper := t.TempDir()
	old := time.Unix(946684800, 0)    // 2000-01-01
	epoch := time.Unix(1700000000, 0) // 2023-11-14
	must(t, os.Mkdir(filepath.Join(upper, "etc"), 0o755))
	writeFile(t, filepath.Join(upper, "etc", "new"), "new", 0o644)
	writeFile(t, filepath.Join(upper, "etc", "old"), "old", 0o644)
	must(t, os.Chtimes(filepath.Join(upper, "etc", "old"), old, old))

	got := map[string]time.Time{}
	var buf bytes.Buffer
	if _, err := Diff(context.Background(), upper, &buf, DiffOptions{Compression: None, Epoch: epoch}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[hdr.Name] = hdr.ModTime
	}
	for name, want := range map[string]time.Time{"etc/": epoch, "etc/new": epoch, "etc/old": old} {
		if !got[name].Equal(want) {
			t.Errorf("%s: mtime %v, want %v (all: %v)", name, got[name], want, got)
		}
	}

	// Without an epoch the times are the files' own.
	buf.Reset()
	if _, err := Diff(context.Background(), upper, &buf, DiffOptions{Compression: None}); err != nil {
		t.Fatal(err)
	}
	hdr, err := tar.NewReader(&buf).Next()
	if err != nil {
		t.Fatal(err)
	}
	if !hdr.ModTime.After(epoch) {
		t.Errorf("without epoch %s has mtime %v, want now", hdr.Name, hdr.ModTime)
	}
}
