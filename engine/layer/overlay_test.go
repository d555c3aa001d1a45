//go:build linux

package layer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

// mountOverlay mounts an overlay of lowers (top first) with an upper dir if
// upper is set, read-only otherwise, and unmounts it when the test ends.
func mountOverlay(t *testing.T, lowers []string, upper string) (merged string, unmount func()) {
	t.Helper()
	tmp := t.TempDir()
	merged = filepath.Join(tmp, "merged")
	must(t, os.Mkdir(merged, 0o755))
	opts := "lowerdir=" + strings.Join(lowers, ":")
	if upper != "" {
		work := filepath.Join(tmp, "work")
		must(t, os.Mkdir(work, 0o755))
		opts += ",upperdir=" + upper + ",workdir=" + work
	}
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay %s: %v", opts, err)
	}
	mounted := true
	unmount = func() {
		if mounted {
			mounted = false
			if err := unix.Unmount(merged, 0); err != nil {
				t.Errorf("unmount %s: %v", merged, err)
			}
		}
	}
	t.Cleanup(unmount)
	return merged, unmount
}

// container runs change against an overlay of lowers, as a build step's
// container would, and returns its upper dir.
func container(t *testing.T, lowers []string, change func(root string)) string {
	t.Helper()
	upper := filepath.Join(t.TempDir(), "upper")
	must(t, os.Mkdir(upper, 0o755))
	merged, unmount := mountOverlay(t, lowers, upper)
	change(merged)
	unmount()
	return upper
}

func applyOverlay(t *testing.T, blob []byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lower")
	if _, err := Apply(context.Background(), dir, bytes.NewReader(blob), ApplyOptions{Whiteouts: WhiteoutOverlay, RemoveOnError: true}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return dir
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestOverlayThreeLayers builds three layers from real overlay upper dirs,
// applies them as lower dirs and mounts those: deleted files are gone,
// opaque directories hide what is below, and flattening the same layers
// with WhiteoutDelete gives the very tree the overlay shows.
func TestOverlayThreeLayers(t *testing.T) {
	testenv.RequireOverlay(t)
	ctx := context.Background()

	base := filepath.Join(t.TempDir(), "base")
	writeFile(t, filepath.Join(base, "etc/a"), "a1", 0o644)
	writeFile(t, filepath.Join(base, "etc/b"), "b", 0o644)
	writeFile(t, filepath.Join(base, "opt/dir/x"), "x", 0o644)
	writeFile(t, filepath.Join(base, "opt/dir/y"), "y", 0o644)
	writeFile(t, filepath.Join(base, "opt/dir/sub/z"), "z", 0o644)
	writeFile(t, filepath.Join(base, "keep/file"), "kept", 0o644)
	must(t, os.Link(filepath.Join(base, "keep/file"), filepath.Join(base, "keep/hard")))
	must(t, unix.Setxattr(filepath.Join(base, "etc/b"), "user.mark", []byte("1"), 0))
	blob1, _ := diffBytes(t, base, DiffOptions{})
	l1 := applyOverlay(t, blob1)

	upper2 := container(t, []string{l1}, func(root string) {
		must(t, os.Remove(filepath.Join(root, "etc/a")))
		must(t, os.Chmod(filepath.Join(root, "etc/b"), 0o600))
		must(t, os.RemoveAll(filepath.Join(root, "opt/dir")))
		must(t, os.Mkdir(filepath.Join(root, "opt/dir"), 0o755))
		writeFile(t, filepath.Join(root, "opt/dir/new"), "new", 0o644)
		writeFile(t, filepath.Join(root, "keep/file2"), "second", 0o644)
	})
	blob2, res2 := diffBytes(t, upper2, DiffOptions{LowerDirs: []string{l1}})
	want2 := []Change{
		{'C', "/etc"}, {'D', "/etc/a"}, {'C', "/etc/b"},
		{'C', "/keep"}, {'A', "/keep/file2"},
		{'C', "/opt"}, {'C', "/opt/dir"}, {'A', "/opt/dir/new"},
	}
	if !slices.Equal(res2.Summary.Changes, want2) {
		t.Errorf("layer 2 changes %v, want %v", res2.Summary.Changes, want2)
	}
	if n := tarNames(t, blob2); !slices.Contains(n, "etc/.wh.a") || !slices.Contains(n, "opt/dir/.wh..wh..opq") {
		t.Errorf("layer 2 lacks its whiteouts: %v", n)
	}
	l2 := applyOverlay(t, blob2)

	upper3 := container(t, []string{l2, l1}, func(root string) {
		writeFile(t, filepath.Join(root, "etc/a"), "a3", 0o644) // back again
		must(t, os.Remove(filepath.Join(root, "keep/file")))
		must(t, os.Remove(filepath.Join(root, "opt/dir/new")))
		writeFile(t, filepath.Join(root, "opt/dir/newer"), "newer", 0o644)
	})
	blob3, res3 := diffBytes(t, upper3, DiffOptions{LowerDirs: []string{l2, l1}})
	if s := res3.Summary; s.Added != 2 || s.Deleted != 2 || s.Changed != 0 {
		// etc/a is added (the lower shows a whiteout), opt/dir/newer too;
		// keep/file and opt/dir/new are deleted; only parents are copied up.
		t.Errorf("layer 3 summary %+v", s)
	}
	l3 := applyOverlay(t, blob3)

	merged, _ := mountOverlay(t, []string{l3, l2, l1}, "")
	if got := readString(t, filepath.Join(merged, "etc/a")); got != "a3" {
		t.Errorf("etc/a = %q", got)
	}
	if got := names(t, filepath.Join(merged, "opt/dir")); !slices.Equal(got, []string{"newer"}) {
		t.Errorf("opt/dir shows %v: the opaque dir should hide x, y, sub", got)
	}
	if got := names(t, filepath.Join(merged, "keep")); !slices.Equal(got, []string{"file2", "hard"}) {
		t.Errorf("keep shows %v, want file2 and hard", got)
	}
	fi, err := os.Stat(filepath.Join(merged, "etc/b"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("etc/b: %v %v", fi, err)
	}

	flat := filepath.Join(t.TempDir(), "flat")
	for _, blob := range [][]byte{blob1, blob2, blob3} {
		if _, err := Apply(ctx, flat, bytes.NewReader(blob), ApplyOptions{Whiteouts: WhiteoutDelete}); err != nil {
			t.Fatalf("flatten: %v", err)
		}
	}
	compareTrees(t, snapshot(t, merged), snapshot(t, flat), false)
}
