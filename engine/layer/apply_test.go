//go:build linux

package layer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

type outcome int

const (
	ok     outcome = iota // applies; check runs
	unsafe                // fails with ErrUnsafe
	fails                 // fails with some error
	either                // may fail or not; only the canary matters
)

// hostileCase is a tarball that tries to touch the canary directory beside
// the root, or a legitimate control that must keep working.
type hostileCase struct {
	name  string
	build func(t testing.TB, canary string) []byte
	want  outcome
	check func(t *testing.T, root string)
}

func readString(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(data)
}

func wantSymlink(t *testing.T, p, target string) {
	t.Helper()
	got, err := os.Readlink(p)
	if err != nil || got != target {
		t.Fatalf("readlink %s = %q, %v; want %q", p, got, err, target)
	}
}

func wantMissing(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatalf("%s exists (err %v), want it missing", p, err)
	}
}

func hostileCases() []hostileCase {
	tb := func(entries ...ent) func(testing.TB, string) []byte {
		return func(t testing.TB, _ string) []byte { return tarball(t, entries...) }
	}
	return []hostileCase{
		{name: "dotdot", build: tb(file("../canary/file", "pwned")), want: unsafe},
		{name: "dotdot nested", build: tb(dir("a"), file("a/../../canary/file", "pwned")), want: unsafe},
		{name: "dotdot after slash", build: tb(file("/../canary/file", "pwned")), want: unsafe},
		{name: "dotdot directory", build: tb(dir("../canary/new")), want: unsafe},
		{name: "absolute name stays inside", build: func(t testing.TB, canary string) []byte {
			return tarball(t, file(canary+"/file", "inside"))
		}, want: ok, check: func(t *testing.T, root string) {
			entries, _ := os.ReadDir(root)
			if len(entries) != 1 {
				t.Fatalf("root has %d entries, want the one absolute path", len(entries))
			}
		}},
		{name: "symlink to outside dir then write through it", build: func(t testing.TB, canary string) []byte {
			return tarball(t, symlink("evil", canary), file("evil/file", "pwned"))
		}, want: either},
		{name: "relative symlink to outside dir then write through it", build: tb(
			symlink("evil", "../canary"), file("evil/file", "pwned"), dir("evil/newdir")), want: either},
		{name: "symlink to outside file then overwrite", build: func(t testing.TB, canary string) []byte {
			return tarball(t, symlink("f", canary+"/file"), file("f", "replaced"))
		}, want: ok, check: func(t *testing.T, root string) {
			if got := readString(t, filepath.Join(root, "f")); got != "replaced" {
				t.Fatalf("f = %q", got)
			}
		}},
		{name: "symlink to outside file then hard link it", build: func(t testing.TB, canary string) []byte {
			return tarball(t, symlink("f", canary+"/file"), hardlink("h", "f"))
		}, want: ok, check: func(t *testing.T, root string) {
			fi, err := os.Lstat(filepath.Join(root, "h"))
			if err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("h: %v, %v; want the symlink itself linked", fi, err)
			}
		}},
		{name: "two-hop symlink chain", build: tb(
			dir("sub"), symlink("sub/up", ".."), symlink("up2", "sub/up/.."),
			file("up2/canary/file", "pwned")), want: ok, check: func(t *testing.T, root string) {
			if got := readString(t, filepath.Join(root, "canary/file")); got != "pwned" {
				t.Fatalf("write through the chain went to %q, want root/canary/file", got)
			}
		}},
		{name: "three-hop absolute chain", build: func(t testing.TB, canary string) []byte {
			return tarball(t, symlink("a", "/b"), symlink("b", "/c"), symlink("c", canary+"/.."),
				file("a/canary/file", "pwned"))
		}, want: either},
		{name: "symlink in subdir climbing three levels", build: tb(
			dir("d"), symlink("d/x", "../../.."), file("d/x/canary/file", "pwned")),
			want: ok, check: func(t *testing.T, root string) {
				if got := readString(t, filepath.Join(root, "canary/file")); got != "pwned" {
					t.Fatalf("got %q", got)
				}
			}},
		{name: "hard link climbing out", build: tb(hardlink("h", "../canary/file")), want: unsafe},
		{name: "hard link to absolute outside path", build: func(t testing.TB, canary string) []byte {
			return tarball(t, hardlink("h", canary+"/file"))
		}, want: fails},
		{name: "hard link through symlinked dir", build: func(t testing.TB, canary string) []byte {
			return tarball(t, symlink("s", canary), hardlink("h", "s/file"))
		}, want: fails},
		{name: "hard link through relative symlinked dir", build: tb(
			symlink("s", "../canary"), hardlink("h", "s/file")), want: fails},
		{name: "root replaced by symlink", build: func(t testing.TB, canary string) []byte {
			return tarball(t, symlink(".", canary), file("file", "pwned"))
		}, want: unsafe},
		{name: "root replaced by symlink dot slash", build: func(t testing.TB, canary string) []byte {
			return tarball(t, symlink("./", canary), file("./file", "pwned"))
		}, want: unsafe},
		{name: "root replaced by file", build: tb(file(".", "pwned")), want: unsafe},
		{name: "root replaced by fifo", build: tb(ent{name: "/.", typ: tar.TypeFifo}), want: unsafe},
		{name: "root replaced via dotdot inside", build: tb(dir("a"), symlink("a/..", "/tmp")), want: unsafe},
		{name: "root dir entry sets mode", build: tb(ent{name: "./", typ: tar.TypeDir, mode: 0o750}, file("a", "x")),
			want: ok, check: func(t *testing.T, root string) {
				fi, err := os.Lstat(root)
				if err != nil || fi.Mode() != os.ModeDir|0o750 {
					t.Fatalf("root mode %v, %v; want drwxr-x---", fi.Mode(), err)
				}
			}},
		{name: "whiteout of dotdot", build: tb(dir("sub"), whiteoutEnt("sub/.wh..."), file("sub/x", "1")), want: unsafe},
		{name: "whiteout of dot", build: tb(dir("sub"), whiteoutEnt("sub/.wh..")), want: unsafe},
		{name: "whiteout of dot at root", build: tb(whiteoutEnt(".wh..")), want: unsafe},
		{name: "whiteout of dotdot at root", build: tb(whiteoutEnt(".wh...")), want: unsafe},
		{name: "empty whiteout", build: tb(whiteoutEnt("sub/.wh.")), want: unsafe},
		{name: "whiteout through symlink", build: func(t testing.TB, canary string) []byte {
			return tarball(t, symlink("s", canary), whiteoutEnt("s/.wh.file"), whiteoutEnt("s/.wh..wh..opq"))
		}, want: either},
		{name: "whiteout through relative symlink", build: tb(
			symlink("s", "../canary"), whiteoutEnt("s/.wh.file"), whiteoutEnt("s/.wh..wh..opq")), want: either},
		{name: "block device", build: tb(dir("dev"), blockdev("dev/sda", 8, 0)), want: ok, check: func(t *testing.T, root string) {
			var st unix.Stat_t
			err := unix.Lstat(filepath.Join(root, "dev/sda"), &st)
			if !testenv.IsRoot() {
				if err == nil {
					t.Fatal("device node made without root")
				}
				return
			}
			if err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || unix.Major(st.Rdev) != 8 {
				t.Fatalf("dev/sda: %v mode %o", err, st.Mode)
			}
		}},
		{name: "duplicates last wins", build: func(t testing.TB, canary string) []byte {
			return tarball(t, file("a", "1"), dir("a"), file("a/x", "inner"), symlink("a", canary), file("a", "last"))
		}, want: ok, check: func(t *testing.T, root string) {
			if got := readString(t, filepath.Join(root, "a")); got != "last" {
				t.Fatalf("a = %q", got)
			}
		}},
		{name: "directory replaced by symlink then written through", build: tb(
			dir("d"), file("d/x", "1"), symlink("d", "/"), file("d/y", "2")), want: ok,
			check: func(t *testing.T, root string) {
				wantSymlink(t, filepath.Join(root, "d"), "/")
				if got := readString(t, filepath.Join(root, "y")); got != "2" {
					t.Fatalf("y = %q", got)
				}
			}},
		{name: "hard link replaced by file keeps target", build: tb(
			file("target", "orig"), hardlink("h", "target"), file("h", "new")), want: ok,
			check: func(t *testing.T, root string) {
				if got := readString(t, filepath.Join(root, "target")); got != "orig" {
					t.Fatalf("target = %q: the write went through the hard link", got)
				}
			}},
		{name: "absurd size", build: func(t testing.TB, _ string) []byte {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			must(t, tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644}))
			_, err := tw.Write([]byte("short"))
			must(t, err)
			return buf.Bytes() // truncated: no padding, no end blocks
		}, want: fails},
		{name: "absurd sparse size", build: func(t testing.TB, _ string) []byte {
			var buf bytes.Buffer
			_, err := writeSparseEntry(&buf, sparseHeader{Name: "holes", Mode: 0o644, Size: 1 << 60}, nil, bytes.NewReader(nil), nil)
			must(t, err)
			buf.Write(make([]byte, 1024))
			return buf.Bytes()
		}, want: unsafe},
		{name: "symlink loop", build: tb(symlink("loop", "loop"), file("loop/x", "1")), want: fails},
		{name: "parent is a file", build: tb(file("f", "1"), file("f/x", "2")), want: fails},
		{name: "overlay xattrs are not taken from a layer", build: tb(ent{name: "d", typ: tar.TypeDir, pax: map[string]string{
			"SCHILY.xattr.trusted.overlay.opaque":   "y",
			"SCHILY.xattr.trusted.overlay.redirect": "/etc",
		}}), want: ok, check: func(t *testing.T, root string) {
			if x := listXattrs(t, filepath.Join(root, "d")); strings.Contains(x, "overlay") {
				t.Fatalf("d has %s", x)
			}
		}},
		{name: "dynamic loader symlink and absolute hard link", build: tb(
			dir("lib"), file("lib/ld-linux-x86-64.so.2", "ELF"),
			dir("usr"), dir("usr/lib"), symlink("usr/lib/ld.so", "../../lib/ld-linux-x86-64.so.2"),
			symlink("usr/lib/abs.so", "/lib/ld-linux-x86-64.so.2"),
			dir("usr/bin"), file("usr/bin/tool", "#!"), hardlink("usr/bin/tool2", "/usr/bin/tool")),
			want: ok, check: func(t *testing.T, root string) {
				wantSymlink(t, filepath.Join(root, "usr/lib/ld.so"), "../../lib/ld-linux-x86-64.so.2")
				if got := readString(t, filepath.Join(root, "usr/lib/ld.so")); got != "ELF" {
					t.Fatalf("ld.so = %q", got)
				}
				wantSymlink(t, filepath.Join(root, "usr/lib/abs.so"), "/lib/ld-linux-x86-64.so.2")
				a, _ := os.Stat(filepath.Join(root, "usr/bin/tool"))
				b, _ := os.Stat(filepath.Join(root, "usr/bin/tool2"))
				if a == nil || b == nil || !os.SameFile(a, b) {
					t.Fatal("tool2 is not a hard link of tool")
				}
			}},
		{name: "dots in names", build: tb(file("...", "dots"), file("a/...b", "x"), file("..c", "y")),
			want: ok, check: func(t *testing.T, root string) {
				if readString(t, filepath.Join(root, "...")) != "dots" || readString(t, filepath.Join(root, "a/...b")) != "x" ||
					readString(t, filepath.Join(root, "..c")) != "y" {
					t.Fatal("dotted names not unpacked")
				}
			}},
		{name: "missing parents are made", build: tb(file("x/y/z", "deep")), want: ok, check: func(t *testing.T, root string) {
			if readString(t, filepath.Join(root, "x/y/z")) != "deep" {
				t.Fatal("x/y/z not unpacked")
			}
		}},
	}
}

// applyHostile applies c beside a canary directory and checks the outcome.
func applyHostile(t *testing.T, c hostileCase, opts ApplyOptions) {
	base := t.TempDir()
	canary := filepath.Join(base, "canary")
	writeFile(t, filepath.Join(canary, "file"), "canary", 0o644)
	writeFile(t, filepath.Join(canary, "sub/deep"), "deep", 0o600)
	before := snapshot(t, canary)
	root := filepath.Join(base, "root")

	_, err := Apply(context.Background(), root, bytes.NewReader(c.build(t, canary)), opts)
	t.Logf("Apply: %v", err)
	switch c.want {
	case ok:
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
	case unsafe:
		if !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Apply error = %v, want ErrUnsafe", err)
		}
	case fails:
		if err == nil {
			t.Fatal("Apply succeeded, want an error")
		}
	}

	compareTrees(t, before, snapshot(t, canary), false)
	var st unix.Stat_t
	must(t, unix.Lstat(filepath.Join(canary, "file"), &st))
	if st.Nlink != 1 {
		t.Errorf("canary/file has %d links", st.Nlink)
	}
	var names []string
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	wantNames := []string{"canary", "root"}
	if err != nil && opts.RemoveOnError {
		wantNames = []string{"canary"}
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("beside the root: %v, want %v", names, wantNames)
	}
	if err == nil && c.check != nil {
		c.check(t, root)
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
			for _, c := range hostileCases() {
				t.Run(c.name, func(t *testing.T) { applyHostile(t, c, m.opts) })
			}
		})
	}
}

func FuzzApply(f *testing.F) {
	for _, c := range hostileCases() {
		data := c.build(f, "/tmp/berth-fuzz-canary")
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
