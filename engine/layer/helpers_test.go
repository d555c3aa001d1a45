//go:build linux

package layer

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/layer/layertest"
	"golang.org/x/sys/unix"
)

// ent is one entry of a tarball built in a test.
type ent struct {
	name     string
	typ      byte // tar.Type*; 0 means a regular file
	body     string
	link     string
	mode     int64
	uid, gid int
	major    int64
	minor    int64
	pax      map[string]string
}

func file(name, body string) ent  { return ent{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) ent         { return ent{name: name, typ: tar.TypeDir} }
func whiteoutEnt(name string) ent { return ent{name: name, typ: tar.TypeReg} }

var testMtime = time.Date(2021, 5, 4, 3, 2, 1, 0, time.UTC)

// tarball builds an uncompressed tar from entries.
func tarball(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{
			Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode,
			Uid: e.uid, Gid: e.gid, ModTime: testMtime, Format: tar.FormatPAX,
			Devmajor: e.major, Devminor: e.minor, PAXRecords: e.pax,
		}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tarball %s: %v", e.name, err)
		}
		if typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// node is what a tree comparison looks at for one path.
type node struct {
	Type    uint32
	Perm    uint32 // mode & 07777
	Uid     uint32
	Gid     uint32
	Mtime   int64 // seconds
	Size    int64
	Content string // sha256 of a regular file
	Link    string
	Rdev    uint64
	Xattrs  string // sorted name=value pairs
	Sparse  bool
	ino     uint64
}

// snapshot records every entry under dir (not dir itself), keyed by relative path.
func snapshot(t testing.TB, dir string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		n := node{
			Type: st.Mode & unix.S_IFMT, Perm: st.Mode & 0o7777, Uid: st.Uid, Gid: st.Gid,
			Mtime: st.Mtim.Sec, Rdev: st.Rdev, ino: st.Ino, Xattrs: listXattrs(t, p),
		}
		switch n.Type {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			n.Content = hex.EncodeToString(sum[:])
			n.Size = st.Size
			n.Sparse = st.Size > 0 && st.Blocks*512 < st.Size
		case unix.S_IFLNK:
			n.Link, err = os.Readlink(p)
			if err != nil {
				return err
			}
		}
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return out
}

func listXattrs(t testing.TB, p string) string {
	x, err := layertest.Xattrs(p)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// compareTrees fails the test for every difference between the trees,
// including which names share an inode.
func compareTrees(t testing.TB, want, got map[string]node, ignoreSparse bool) {
	t.Helper()
	for _, p := range slices.Sorted(mapKeys(want)) {
		w := want[p]
		g, ok := got[p]
		if !ok {
			t.Errorf("%s: missing", p)
			continue
		}
		if ignoreSparse {
			w.Sparse, g.Sparse = false, false
		}
		w.ino, g.ino = 0, 0
		if w != g {
			t.Errorf("%s differs:\nwant %+v\ngot  %+v", p, w, g)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: unexpected", p)
		}
	}
	// Hard link identity: names share an inode in got exactly when they do in want.
	group := func(tree map[string]node) map[string]string {
		byIno := map[uint64][]string{}
		for p, n := range tree {
			if n.Type != unix.S_IFDIR {
				byIno[n.ino] = append(byIno[n.ino], p)
			}
		}
		out := map[string]string{}
		for _, names := range byIno {
			sort.Strings(names)
			for _, n := range names {
				out[n] = strings.Join(names, "|")
			}
		}
		return out
	}
	wg, gg := group(want), group(got)
	for p, w := range wg {
		if gg[p] != w {
			t.Errorf("%s: hard link group %q, want %q", p, gg[p], w)
		}
	}
}

func mapKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func writeFile(t testing.TB, p, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// setTimesTree gives every entry under dir (dir included) the same mtime,
// children first, so trees built at different moments compare equal.
func setTimesTree(t testing.TB, dir string, when time.Time) {
	t.Helper()
	var paths []string
	must(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	ts := []unix.Timespec{unix.NsecToTimespec(when.UnixNano()), unix.NsecToTimespec(when.UnixNano())}
	for i := len(paths) - 1; i >= 0; i-- {
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// tarNames lists the entry names of an uncompressed or compressed layer.
func tarNames(t testing.TB, layer []byte) []string {
	t.Helper()
	rc, err := Decompress(bytes.NewReader(layer))
	must(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		must(t, err)
		names = append(names, hdr.Name)
	}
}
