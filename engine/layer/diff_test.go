//go:build linux

package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/internal/testenv"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// capNetRaw is a security.capability value (VFS_CAP_REVISION_2, effective)
// granting cap_net_raw, as on /bin/ping.
var capNetRaw = string([]byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

// buildTree makes a tree with every kind of entry a layer can hold; with
// asRoot also owners, devices and privileged xattrs.
func buildTree(t *testing.T, root string, asRoot bool) {
	t.Helper()
	p := func(rel string) string { return filepath.Join(root, rel) }
	mkdir := func(rel string, mode os.FileMode) {
		must(t, os.MkdirAll(p(rel), 0o755))
		must(t, os.Chmod(p(rel), mode))
	}
	mkdir("etc", 0o755)
	mkdir("tmp", 0o777|os.ModeSticky)
	mkdir("shared", 0o775|os.ModeSetgid)
	mkdir("empty", 0o755)
	writeFile(t, p("private/secret"), "s3cret", 0o600)
	must(t, os.Chmod(p("private"), 0o700))
	writeFile(t, p("etc/hostname"), "berth\n", 0o644)
	writeFile(t, p("empty-file"), "", 0o600)
	writeFile(t, p("bin/su"), "ELF su", 0o755)
	must(t, os.Chmod(p("bin/su"), 0o755|os.ModeSetuid))
	writeFile(t, p("bin/wall"), "ELF wall", 0o755)
	must(t, os.Chmod(p("bin/wall"), 0o755|os.ModeSetgid))
	writeFile(t, p("..."), "three dots", 0o644)
	writeFile(t, p(".hidden"), "hidden", 0o644)
	writeFile(t, p("unicode/héllo wörld ✓"), "unicode", 0o644)
	long := "deep/" + strings.Repeat("d123456789/", 14) + strings.Repeat("n", 120)
	writeFile(t, p(long), "long path", 0o644)
	writeFile(t, p("bin/a"), "linked", 0o755)
	must(t, os.Link(p("bin/a"), p("bin/b")))
	writeFile(t, p("other/keep"), "k", 0o644)
	must(t, os.Link(p("bin/a"), p("other/c")))
	must(t, os.Symlink("../lib64/ld-linux-x86-64.so.2", p("bin/ld.so")))
	must(t, os.Symlink("/etc/hostname", p("abs-link")))
	must(t, os.Symlink("etc", p("dir-link")))
	must(t, os.MkdirAll(p("run"), 0o755))
	must(t, unix.Mkfifo(p("run/fifo"), 0o620))
	must(t, os.Chmod(p("run/fifo"), 0o620))
	must(t, unix.Setxattr(p("etc/hostname"), "user.berth", []byte("hello\x00world"), 0))
	must(t, unix.Setxattr(p("etc"), "user.dir", []byte("d"), 0))

	// Sparse files: holes in the middle, only a hole, data then a hole.
	must(t, os.MkdirAll(p("var/log"), 0o755))
	f, err := os.Create(p("var/log/lastlog"))
	must(t, err)
	must(t, f.Truncate(16<<20))
	_, err = f.WriteAt([]byte("uid 1000 logged in"), 1<<20)
	must(t, err)
	_, err = f.WriteAt(bytes.Repeat([]byte{7}, 10000), 8<<20)
	must(t, err)
	must(t, f.Close())
	must(t, os.Truncate(createEmpty(t, p("var/all-hole")), 4<<20))
	writeFile(t, p("var/head"), strings.Repeat("h", 8192), 0o644)
	must(t, os.Truncate(p("var/head"), 4<<20))

	if asRoot {
		writeFile(t, p("home/user/.profile"), "export PS1", 0o644)
		must(t, os.Lchown(p("home/user/.profile"), 1000, 1000))
		must(t, os.Lchown(p("home/user"), 1000, 1001))
		must(t, os.Lchown(p("bin/wall"), 0, 5))
		writeFile(t, p("big-uid"), "nobody far away", 0o640)
		must(t, os.Lchown(p("big-uid"), 3000000, 4000000))
		must(t, os.Lchown(p("abs-link"), 1000, 1000))
		must(t, os.MkdirAll(p("dev"), 0o755))
		must(t, unix.Mknod(p("dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(t, os.Chmod(p("dev/null"), 0o666))
		must(t, unix.Mknod(p("dev/loop9"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 9))))
		must(t, os.Chmod(p("dev/loop9"), 0o660))
		writeFile(t, p("bin/ping"), "ELF ping", 0o755)
		must(t, unix.Setxattr(p("bin/ping"), "security.capability", []byte(capNetRaw), 0))
		must(t, unix.Setxattr(p("etc/hostname"), "trusted.berth", []byte("t"), 0))
	}
	setTimesTree(t, root, testMtime)
	old := time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)
	must(t, os.Chtimes(p("etc/hostname"), old, old))
	must(t, unix.Lutimes(p("abs-link"), []unix.Timeval{unix.NsecToTimeval(old.UnixNano()), unix.NsecToTimeval(old.UnixNano())}))
}

func createEmpty(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Create(p)
	must(t, err)
	must(t, f.Close())
	return p
}

func diffBytes(t *testing.T, dir string, opts DiffOptions) ([]byte, *DiffResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := Diff(context.Background(), dir, &buf, opts)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if res.Size != int64(buf.Len()) || res.Digest != digest.FromBytes(buf.Bytes()) {
		t.Fatalf("result size %d digest %s, but wrote %d bytes with digest %s", res.Size, res.Digest, buf.Len(), digest.FromBytes(buf.Bytes()))
	}
	return buf.Bytes(), res
}

func TestRoundTrip(t *testing.T) {
	asRoot := testenv.IsRoot()
	src := filepath.Join(t.TempDir(), "src")
	buildTree(t, src, asRoot)
	want := snapshot(t, src)
	if !want["var/log/lastlog"].Sparse {
		t.Skip("the temp file system does not keep holes")
	}

	for _, c := range []Compression{Gzip, Zstd, None} {
		t.Run(c.String(), func(t *testing.T) {
			blob, res := diffBytes(t, src, DiffOptions{Compression: c})
			if res.MediaType != c.MediaType() || res.Empty {
				t.Fatalf("media type %s, empty %v", res.MediaType, res.Empty)
			}
			// 24 MiB of logical file size, a few KiB of data.
			if res.UncompressedSize > 256<<10 {
				t.Errorf("tar is %d bytes: sparse files were not written sparse", res.UncompressedSize)
			}
			dst := filepath.Join(t.TempDir(), "dst")
			ar, err := Apply(context.Background(), dst, bytes.NewReader(blob), ApplyOptions{ExpectDiffID: res.DiffID})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if ar.Size != res.UncompressedSize || ar.Entries != len(tarNames(t, blob)) {
				t.Errorf("apply result %+v; diff wrote %d bytes", ar, res.UncompressedSize)
			}
			compareTrees(t, want, snapshot(t, dst), false)
		})
	}

	t.Run("gnu-tar", func(t *testing.T) {
		if _, err := exec.LookPath("tar"); err != nil {
			t.Skip("no tar")
		}
		blob, _ := diffBytes(t, src, DiffOptions{Compression: None})
		dst := t.TempDir()
		cmd := exec.Command("tar", "--xattrs", "--xattrs-include=*", "-xpf", "-", "-C", dst)
		cmd.Stdin = bytes.NewReader(blob)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("GNU tar cannot read the layer: %v\n%s", err, out)
		}
		got := snapshot(t, dst)
		// GNU tar sets the root's own entries but not trusted.* on every kernel; compare what it restores.
		compareTrees(t, want, got, true)
	})
}

func TestDeterministic(t *testing.T) {
	// The same tree, created in a different order with different inodes,
	// gives the same bytes.
	build := func(seed int64) string {
		root := filepath.Join(t.TempDir(), "tree")
		type step struct{ name, body string }
		var steps []step
		for i := range 60 {
			steps = append(steps, step{filepath.Join("d"+string(rune('a'+i%7)), "f"+string(rune('A'+i%26))+strings.Repeat("x", i)), strings.Repeat("data", i*50)})
		}
		r := rand.New(rand.NewSource(seed))
		r.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
		for i := range int(seed) { // shift inode numbers
			createEmpty(t, filepath.Join(filepath.Dir(root), "junk"+string(rune('a'+i))))
		}
		for _, s := range steps {
			writeFile(t, filepath.Join(root, s.name), s.body, 0o644)
		}
		must(t, os.Link(filepath.Join(root, "da/fA"), filepath.Join(root, "hard")))
		must(t, os.Symlink("da/fA", filepath.Join(root, "soft")))
		must(t, unix.Setxattr(filepath.Join(root, "da"), "user.z", []byte("1"), 0))
		must(t, unix.Setxattr(filepath.Join(root, "da"), "user.a", []byte("2"), 0))
		setTimesTree(t, root, testMtime)
		return root
	}
	a, b := build(1), build(7)
	for _, c := range []Compression{None, Gzip, Zstd} {
		blobA, resA := diffBytes(t, a, DiffOptions{Compression: c})
		blobB, resB := diffBytes(t, b, DiffOptions{Compression: c})
		if !bytes.Equal(blobA, blobB) || resA.DiffID != resB.DiffID || resA.Digest != resB.Digest {
			t.Errorf("%s: identical trees gave different layers: %s vs %s", c, resA.Digest, resB.Digest)
		}
		if c == None && resA.DiffID != resA.Digest {
			t.Errorf("uncompressed: digest %s differs from diff ID %s", resA.Digest, resA.DiffID)
		}
	}
	// Names are in byte order, parents first, with no owner names or atimes.
	blob, _ := diffBytes(t, a, DiffOptions{Compression: None})
	tr := tar.NewReader(bytes.NewReader(blob))
	var prev string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		if hdr.Uname != "" || hdr.Gname != "" || !hdr.AccessTime.IsZero() || !hdr.ChangeTime.IsZero() {
			t.Errorf("%s: uname %q gname %q atime %v ctime %v", hdr.Name, hdr.Uname, hdr.Gname, hdr.AccessTime, hdr.ChangeTime)
		}
		if !hdr.ModTime.Equal(testMtime) {
			t.Errorf("%s: mtime %v", hdr.Name, hdr.ModTime)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if prev != "" && !strings.HasPrefix(name, prev+"/") && name < prev {
			t.Errorf("%s after %s", name, prev)
		}
		prev = name
	}
}

func TestDiffEmpty(t *testing.T) {
	_, res := diffBytes(t, t.TempDir(), DiffOptions{Compression: Gzip})
	// The diff ID of an empty tar (two zero blocks), the one Docker shows for empty layers.
	const emptyTar = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
	if !res.Empty || res.DiffID != emptyTar || res.UncompressedSize != 1024 {
		t.Fatalf("empty dir: %+v", res)
	}
	if len(res.Summary.Changes) != 0 || res.Summary.Added != 0 {
		t.Fatalf("summary of nothing: %+v", res.Summary)
	}
}

// NothingChanged tells an upper dir without entries from one read, with
// the result Diff gives for it (what a build step that wrote nothing
// commits, without a blob); a dir with any entry is left to Diff.
func TestNothingChanged(t *testing.T) {
	for _, c := range []Compression{Gzip, Zstd, None} {
		empty := t.TempDir()
		_, want := diffBytes(t, empty, DiffOptions{Compression: c})
		got, err := NothingChanged(empty, c)
		if err != nil || got == nil {
			t.Fatalf("%s: empty dir: %+v, %v", c, got, err)
		}
		if !got.Empty || got.DiffID != want.DiffID || got.UncompressedSize != want.UncompressedSize ||
			got.MediaType != want.MediaType || !bothEmpty(got.Summary, want.Summary) {
			t.Fatalf("%s: NothingChanged = %+v, Diff = %+v", c, got, want)
		}
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := NothingChanged(dir, Gzip); got != nil || err != nil {
		t.Fatalf("dir with an entry: %+v, %v (want nil, nil: Diff decides)", got, err)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := NothingChanged(missing, Gzip); err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("a missing upper dir: %v (want a not-exist error naming it, not an empty diff)", err)
	}
}

func bothEmpty(a, b Summary) bool {
	return a.Added == b.Added && a.Changed == b.Changed && a.Deleted == b.Deleted && a.Bytes == b.Bytes &&
		len(a.Changes) == 0 && len(b.Changes) == 0 && len(a.Largest) == 0 && len(b.Largest) == 0
}

func TestDiffSummary(t *testing.T) {
	testenv.RequireRoot(t) // the whiteout is a character device
	tmp := t.TempDir()
	lowerBottom, lowerTop, upper := filepath.Join(tmp, "l1"), filepath.Join(tmp, "l2"), filepath.Join(tmp, "upper")
	writeFile(t, filepath.Join(lowerBottom, "etc/a"), "a", 0o644)
	writeFile(t, filepath.Join(lowerBottom, "etc/b"), "b", 0o644)
	writeFile(t, filepath.Join(lowerBottom, "usr/bin/sh"), "sh", 0o755)
	writeFile(t, filepath.Join(lowerBottom, "var/gone"), "x", 0o644)
	writeFile(t, filepath.Join(lowerTop, "etc/c"), "c", 0o644)
	must(t, os.MkdirAll(filepath.Join(lowerTop, "var"), 0o755))
	must(t, unix.Mknod(filepath.Join(lowerTop, "var/gone"), unix.S_IFCHR, 0)) // deleted in the top lower

	writeFile(t, filepath.Join(upper, "etc/a"), "changed a", 0o644)
	writeFile(t, filepath.Join(upper, "etc/new"), "new", 0o644)
	must(t, unix.Mknod(filepath.Join(upper, "etc/b"), unix.S_IFCHR, 0))
	writeFile(t, filepath.Join(upper, "newdir/f"), strings.Repeat("f", 3000), 0o644)
	writeFile(t, filepath.Join(upper, "usr/bin/big"), strings.Repeat("B", 1<<20), 0o755)
	writeFile(t, filepath.Join(upper, "var/gone"), "back", 0o644)
	must(t, os.Chmod(filepath.Join(upper, "usr"), 0o700)) // a directory changed itself

	blob, res := diffBytes(t, upper, DiffOptions{LowerDirs: []string{lowerTop, lowerBottom}, Largest: 3})
	want := []Change{
		{'C', "/etc"}, {'C', "/etc/a"}, {'D', "/etc/b"}, {'A', "/etc/new"},
		{'A', "/newdir"}, {'A', "/newdir/f"},
		{'C', "/usr"}, {'C', "/usr/bin"}, {'A', "/usr/bin/big"},
		{'C', "/var"}, {'A', "/var/gone"},
	}
	s := res.Summary
	if !slices.Equal(s.Changes, want) {
		t.Errorf("changes:\n%v\nwant\n%v", s.Changes, want)
	}
	if s.Added != 5 || s.Changed != 2 || s.Deleted != 1 {
		t.Errorf("added %d changed %d deleted %d, want 5, 2 (etc/a and usr), 1", s.Added, s.Changed, s.Deleted)
	}
	if wantBytes := int64(len("changed a") + len("new") + 3000 + 1<<20 + len("back")); s.Bytes != wantBytes {
		t.Errorf("bytes %d, want %d", s.Bytes, wantBytes)
	}
	wantLargest := []PathSize{{"/usr/bin/big", 1 << 20}, {"/newdir/f", 3000}, {"/etc/a", 9}}
	if !slices.Equal(s.Largest, wantLargest) {
		t.Errorf("largest %v, want %v", s.Largest, wantLargest)
	}
	names := tarNames(t, blob)
	if !slices.Contains(names, "etc/.wh.b") || slices.Contains(names, "etc/b") {
		t.Errorf("whiteout not converted: %v", names)
	}
	changes, err := Changes(upper, []string{lowerTop, lowerBottom})
	must(t, err)
	if !slices.Equal(changes, want) {
		t.Errorf("Changes = %v, want %v", changes, want)
	}

	// MaxChanges keeps the first paths only; the counts and the layer stay.
	capped, cres := diffBytes(t, upper, DiffOptions{LowerDirs: []string{lowerTop, lowerBottom}, Largest: 3, MaxChanges: 4})
	c := cres.Summary
	if !slices.Equal(c.Changes, want[:4]) || c.Added != s.Added || c.Changed != s.Changed || c.Deleted != s.Deleted || c.Bytes != s.Bytes {
		t.Errorf("MaxChanges 4: changes %v (added %d changed %d deleted %d bytes %d), want %v and the same counts",
			c.Changes, c.Added, c.Changed, c.Deleted, c.Bytes, want[:4])
	}
	if !bytes.Equal(capped, blob) {
		t.Error("MaxChanges changed the layer's bytes")
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestDiffErrors(t *testing.T) {
	if _, err := Diff(context.Background(), filepath.Join(t.TempDir(), "missing"), io.Discard, DiffOptions{}); err == nil {
		t.Error("missing dir accepted")
	}
	src := t.TempDir()
	r := rand.New(rand.NewSource(1))
	for i := range 50 {
		noise := make([]byte, 100000) // incompressible, so the blob outgrows the writer
		r.Read(noise)
		writeFile(t, filepath.Join(src, "f", string(rune('a'+i%26))+strings.Repeat("x", i)), string(noise), 0o644)
	}
	for _, c := range []Compression{None, Gzip, Zstd} {
		_, err := Diff(context.Background(), src, &failingWriter{after: 50000}, DiffOptions{Compression: c})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: err = %v, want the writer's error", c, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Diff(ctx, src, io.Discard, DiffOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestChangeJSON(t *testing.T) {
	data, err := json.Marshal([]Change{{ChangeAdd, "/a"}, {ChangeDelete, "/b"}})
	must(t, err)
	if string(data) != `[{"Kind":"A","Path":"/a"},{"Kind":"D","Path":"/b"}]` {
		t.Fatalf("JSON %s", data)
	}
	var back []Change
	must(t, json.Unmarshal(data, &back))
	if back[1].Kind != ChangeDelete || back[1].String() != "D /b" {
		t.Fatalf("round trip %v", back)
	}
	if err := json.Unmarshal([]byte(`[{"Kind":"X"}]`), &back); err == nil {
		t.Fatal("kind X accepted")
	}
}

func TestSparseBudget(t *testing.T) {
	src := t.TempDir()
	for _, name := range []string{"a", "b"} {
		f, err := os.Create(filepath.Join(src, name))
		must(t, err)
		must(t, f.Truncate(8<<20))
		_, err = f.WriteAt([]byte("data"), 4<<20)
		must(t, err)
		must(t, f.Close())
	}
	if !snapshot(t, src)["a"].Sparse {
		t.Skip("the temp file system does not keep holes")
	}
	sparseEntries := func(blob []byte) (n int) {
		tr := tar.NewReader(bytes.NewReader(blob))
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				return n
			}
			must(t, err)
			if hdr.PAXRecords["GNU.sparse.major"] == "1" {
				n++
			}
		}
	}
	full, _ := diffBytes(t, src, DiffOptions{Compression: None})
	defer func(old int64) { maxSparseTotal = old }(maxSparseTotal)
	maxSparseTotal = 10 << 20
	if n := sparseEntries(full); n != 2 {
		t.Fatalf("%d sparse entries, want 2", n)
	}
	// Over the budget, Apply refuses the layer...
	_, err := Apply(context.Background(), filepath.Join(t.TempDir(), "x"), bytes.NewReader(full), ApplyOptions{})
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("err = %v, want ErrUnsafe", err)
	}
	// ...and Diff writes the file that would exceed it densely, so Apply takes it.
	capped, res := diffBytes(t, src, DiffOptions{Compression: None})
	if n := sparseEntries(capped); n != 1 {
		t.Fatalf("%d sparse entries, want 1", n)
	}
	dst := filepath.Join(t.TempDir(), "x")
	_, err = Apply(context.Background(), dst, bytes.NewReader(capped), ApplyOptions{ExpectDiffID: res.DiffID})
	must(t, err)
	compareTrees(t, snapshot(t, src), snapshot(t, dst), true)
}
