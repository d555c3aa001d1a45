//go:build linux

package layer

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine/layer/layertest"
	"github.com/berthkit/berth/internal/testenv"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

func readString(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(data)
}

func wantMissing(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatalf("%s exists (err %v), want it missing", p, err)
	}
}

// applyHostile applies c beside a canary directory and checks the outcome.
func applyHostile(t *testing.T, c layertest.Case, opts ApplyOptions) {
	base := t.TempDir()
	canary := layertest.NewCanary(t, base)
	root := filepath.Join(base, "root")

	_, err := Apply(context.Background(), root, bytes.NewReader(c.Tar(canary.Dir)), opts)
	t.Logf("Apply: %v", err)
	switch c.Want {
	case layertest.WantOK:
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
	case layertest.WantUnsafe:
		if !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Apply error = %v, want ErrUnsafe", err)
		}
	case layertest.WantError:
		if err == nil {
			t.Fatal("Apply succeeded, want an error")
		}
	}

	canary.Verify(t, "root")
	var st unix.Stat_t
	must(t, unix.Lstat(filepath.Join(canary.Dir, "file"), &st))
	if st.Nlink != 1 {
		t.Errorf("canary/file has %d links", st.Nlink)
	}
	names, lerr := canary.Beside()
	must(t, lerr)
	wantNames := []string{"canary", "root"}
	if err != nil && opts.RemoveOnError {
		wantNames = []string{"canary"}
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("beside the root: %v, want %v", names, wantNames)
	}
	if err == nil && c.Check != nil {
		if cerr := c.Check(root); cerr != nil {
			t.Fatal(cerr)
		}
	}
}

func TestApplyHostile(t *testing.T) {
	modes := []struct {
		name       string
		opts       ApplyOptions
		securejoin bool
	}{
		{name: "delete", opts: ApplyOptions{Whiteouts: WhiteoutDelete}},
		{name: "overlay", opts: ApplyOptions{Whiteouts: WhiteoutOverlay}},
		{name: "remove-on-error", opts: ApplyOptions{Whiteouts: WhiteoutDelete, RemoveOnError: true}},
		{name: "securejoin", opts: ApplyOptions{Whiteouts: WhiteoutDelete}, securejoin: true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if m.opts.Whiteouts == WhiteoutOverlay {
				testenv.RequireRoot(t)
			}
			if m.securejoin {
				noOpenat2.Store(true)
				defer noOpenat2.Store(false)
			}
			for _, c := range layertest.HostileCases() {
				t.Run(c.Name, func(t *testing.T) { applyHostile(t, c, m.opts) })
			}
		})
	}
}

func FuzzApply(f *testing.F) {
	for _, c := range layertest.HostileCases() {
		data := c.Tar("/tmp/berth-fuzz-canary")
		f.Add(data)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(data)
		zw.Close()
		f.Add(gz.Bytes())
	}
	// Keep every input fast: holes are handed over as zeros.
	defer func(old int64) { maxSparseTotal = old }(maxSparseTotal)
	maxSparseTotal = 64 << 20
	f.Fuzz(fuzzApply)
}

// fuzzApply applies any bytes beside a canary: whatever happens, the canary
// stays as it was and nothing appears beside the root.
func fuzzApply(t *testing.T, data []byte) {
	base := t.TempDir()
	canary := filepath.Join(base, "canary")
	writeFile(t, filepath.Join(canary, "file"), "canary", 0o644)
	before := snapshot(t, canary)
	opts := ApplyOptions{Whiteouts: WhiteoutDelete, RemoveOnError: len(data)%3 == 0}
	if testenv.IsRoot() && len(data)%2 == 0 {
		opts.Whiteouts = WhiteoutOverlay
	}
	Apply(context.Background(), filepath.Join(base, "root"), bytes.NewReader(data), opts)
	compareTrees(t, before, snapshot(t, canary), false)
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		if e.Name() != "canary" && e.Name() != "root" {
			t.Fatalf("Apply created %s beside the root", e.Name())
		}
	}
	if fi, err := os.Lstat(filepath.Join(base, "root")); err == nil && !fi.IsDir() {
		t.Fatalf("root became %v", fi.Mode())
	}
}

func TestApplyDiffIDCheck(t *testing.T) {
	layer := tarball(t, dir("etc"), file("etc/hostname", "berth\n"))
	good := digest.FromBytes(layer)
	bad := digest.FromString("something else")

	root := filepath.Join(t.TempDir(), "layer")
	res, err := Apply(context.Background(), root, bytes.NewReader(layer), ApplyOptions{ExpectDiffID: good, Whiteouts: WhiteoutDelete})
	must(t, err)
	if res.DiffID != good || res.Size != int64(len(layer)) || res.Entries != 2 {
		t.Fatalf("result %+v, want diff ID %s, size %d, 2 entries", res, good, len(layer))
	}

	root2 := filepath.Join(t.TempDir(), "layer")
	_, err = Apply(context.Background(), root2, bytes.NewReader(layer), ApplyOptions{ExpectDiffID: bad, RemoveOnError: true, Whiteouts: WhiteoutDelete})
	if err == nil || !strings.Contains(err.Error(), "expects "+bad.String()) {
		t.Fatalf("err = %v, want a diff ID mismatch", err)
	}
	wantMissing(t, root2)

	root3 := filepath.Join(t.TempDir(), "layer")
	_, err = Apply(context.Background(), root3, bytes.NewReader(layer), ApplyOptions{ExpectDiffID: bad, Whiteouts: WhiteoutDelete})
	if err == nil {
		t.Fatal("mismatch not reported")
	}
	if got := readString(t, filepath.Join(root3, "etc/hostname")); got != "berth\n" {
		t.Fatalf("without RemoveOnError the files stay: got %q", got)
	}

	// Compressed blobs have the same diff ID: it is of the uncompressed tar.
	for _, c := range []Compression{Gzip, Zstd} {
		blob := compress(t, layer, c)
		res, err := Apply(context.Background(), filepath.Join(t.TempDir(), "l"), bytes.NewReader(blob), ApplyOptions{ExpectDiffID: good, Whiteouts: WhiteoutDelete})
		if err != nil || res.DiffID != good {
			t.Fatalf("%s: %v %+v", c, err, res)
		}
	}
	_, err = Apply(context.Background(), filepath.Join(t.TempDir(), "l"), bytes.NewReader(layer), ApplyOptions{ExpectDiffID: "sha256:nothex"})
	if err == nil {
		t.Fatal("malformed expected diff ID accepted")
	}
}

func TestApplyWhiteoutDelete(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rootfs")
	base := tarball(t, dir("etc"), file("etc/a", "a"), file("etc/b", "b"),
		dir("opt"), file("opt/x", "x"), dir("opt/sub"), file("opt/sub/y", "y"), file("keep", "k"))
	_, err := Apply(context.Background(), root, bytes.NewReader(base), ApplyOptions{Whiteouts: WhiteoutDelete})
	must(t, err)
	// The opaque marker comes after a new file here, to check it is kept.
	top := tarball(t, whiteoutEnt("etc/.wh.a"), dir("opt"), file("opt/+new", "n"), whiteoutEnt("opt/.wh..wh..opq"),
		file("opt/z", "z"), whiteoutEnt("etc/.wh.missing"), whiteoutEnt("gone/.wh.x"), whiteoutEnt(".wh..wh.plnk"))
	_, err = Apply(context.Background(), root, bytes.NewReader(top), ApplyOptions{Whiteouts: WhiteoutDelete})
	must(t, err)
	got := slices.Sorted(mapKeys(snapshot(t, root)))
	want := []string{"etc", "etc/b", "keep", "opt", "opt/+new", "opt/z"}
	if !slices.Equal(got, want) {
		t.Fatalf("after whiteouts: %v, want %v", got, want)
	}
}

func TestApplyOverlayWhiteoutNodes(t *testing.T) {
	testenv.RequireRoot(t)
	root := filepath.Join(t.TempDir(), "lower")
	layer := tarball(t, dir("etc"), whiteoutEnt("etc/.wh.passwd"), dir("opt"), whiteoutEnt("opt/.wh..wh..opq"), file("opt/new", "n"))
	_, err := Apply(context.Background(), root, bytes.NewReader(layer), ApplyOptions{})
	must(t, err)
	var st unix.Stat_t
	must(t, unix.Lstat(filepath.Join(root, "etc/passwd"), &st))
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("etc/passwd: mode %o rdev %d, want a 0/0 character device", st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(root, "opt"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Fatalf("opt opaque xattr = %q, %v", buf[:n], err)
	}
	wantMissing(t, filepath.Join(root, "etc/.wh.passwd"))
	wantMissing(t, filepath.Join(root, "opt/.wh..wh..opq"))
}

func TestApplyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := filepath.Join(t.TempDir(), "l")
	_, err := Apply(ctx, root, bytes.NewReader(tarball(t, file("a", "1"))), ApplyOptions{RemoveOnError: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	wantMissing(t, root)
}
