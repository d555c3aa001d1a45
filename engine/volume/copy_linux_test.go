//go:build linux

package volume

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

// fileCap is a security.capability value (VFS_CAP_REVISION_2, effective)
// granting cap_net_bind_service, as setcap writes it.
func fileCap() []byte {
	var b bytes.Buffer
	for _, v := range []uint32{0x02000000 | 1, 1 << unix.CAP_NET_BIND_SERVICE, 0, 0, 0} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

// imageTree makes root/p as an image would hold it: a hard-linked pair,
// xattrs, setuid, a setgid dir, symlinks (one aiming out of any root),
// special files, a file owned by someone else, fixed times.
func imageTree(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(root, "p")
	must(os.MkdirAll(filepath.Join(p, "d/sub"), 0o755))
	must(os.WriteFile(filepath.Join(p, "a"), []byte("shared"), 0o640))
	must(os.Chown(filepath.Join(p, "a"), 1000, 1001))
	must(os.Link(filepath.Join(p, "a"), filepath.Join(p, "d/b")))
	must(os.WriteFile(filepath.Join(p, "cap"), []byte("bin"), 0o755))
	must(unix.Setxattr(filepath.Join(p, "cap"), "user.x", []byte("1"), 0))
	must(unix.Setxattr(filepath.Join(p, "cap"), "security.capability", fileCap(), 0))
	must(os.WriteFile(filepath.Join(p, "suid"), []byte("s"), 0o755))
	must(unix.Chmod(filepath.Join(p, "suid"), 0o4755))
	must(unix.Chmod(filepath.Join(p, "d"), 0o2750))
	must(unix.Setxattr(filepath.Join(p, "d"), "user.dir", []byte("yes"), 0))
	must(os.Symlink("/etc/shadow", filepath.Join(p, "abs-link")))
	must(os.Symlink("../../../../../..", filepath.Join(p, "climb")))
	must(unix.Mkfifo(filepath.Join(p, "fifo"), 0o600))
	must(unix.Mknod(filepath.Join(p, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(unix.Mknod(filepath.Join(p, "sock"), unix.S_IFSOCK|0o644, 0))
	must(unix.Setxattr(p, "user.root", []byte("r"), 0))
	must(os.Chown(p, 7, 8))
	must(unix.Chmod(p, 0o750))
	old := time.Unix(1600000000, 0)
	for _, name := range []string{"a", "d/sub", "d", "cap", "fifo", ""} {
		must(os.Chtimes(filepath.Join(p, name), old, old))
	}
	must(unix.Lutimes(filepath.Join(p, "abs-link"), []unix.Timeval{{Sec: 1600000000}, {Sec: 1600000000}}))
}

func copyUpDirs(t *testing.T) (root, data, scratch string) {
	t.Helper()
	dir := t.TempDir()
	root, data, scratch = filepath.Join(dir, "root"), filepath.Join(dir, "vol/_data"), filepath.Join(dir, "scratch")
	for _, d := range []string{root, data, scratch} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root, data, scratch
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func getxattr(p, name string) string {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(buf[:n])
}

// TestCopyUpKeepsEverything: hard links stay one inode, xattrs (file
// capabilities and user.*) come along, and so do owners, modes, times,
// symlinks (not followed) and special files; the volume's root takes the
// image directory's owner, mode and xattrs.
func TestCopyUpKeepsEverything(t *testing.T) {
	testenv.RequireRoot(t)
	root, data, scratch := copyUpDirs(t)
	imageTree(t, root)
	copied, err := CopyUp(root, "/p", data, scratch)
	if err != nil || !copied {
		t.Fatalf("CopyUp = %v, %v", copied, err)
	}
	a, b := lstat(t, filepath.Join(data, "a")), lstat(t, filepath.Join(data, "d/b"))
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("hard link: a ino %d nlink %d, d/b ino %d: want one inode, two links", a.Ino, a.Nlink, b.Ino)
	}
	if a.Mode&0o7777 != 0o640 || a.Uid != 1000 || a.Gid != 1001 || a.Mtim.Sec != 1600000000 {
		t.Errorf("a: mode %o owner %d:%d mtime %d", a.Mode&0o7777, a.Uid, a.Gid, a.Mtim.Sec)
	}
	capPath := filepath.Join(data, "cap")
	if got := getxattr(capPath, "user.x"); got != "1" {
		t.Errorf("cap user.x = %q", got)
	}
	if got := getxattr(capPath, "security.capability"); got != string(fileCap()) {
		t.Errorf("cap security.capability = %x, want %x", got, fileCap())
	}
	if got := getxattr(filepath.Join(data, "d"), "user.dir"); got != "yes" {
		t.Errorf("d user.dir = %q", got)
	}
	if st := lstat(t, filepath.Join(data, "suid")); st.Mode&0o7777 != 0o4755 {
		t.Errorf("suid: mode %o", st.Mode&0o7777)
	}
	if st := lstat(t, filepath.Join(data, "d")); st.Mode&0o7777 != 0o2750 || st.Mtim.Sec != 1600000000 {
		t.Errorf("d: mode %o mtime %d", st.Mode&0o7777, st.Mtim.Sec)
	}
	for name, want := range map[string]string{"abs-link": "/etc/shadow", "climb": "../../../../../.."} {
		if target, err := os.Readlink(filepath.Join(data, name)); err != nil || target != want {
			t.Errorf("%s = %q, %v", name, target, err)
		}
	}
	if st := lstat(t, filepath.Join(data, "abs-link")); st.Mtim.Sec != 1600000000 {
		t.Errorf("abs-link mtime %d", st.Mtim.Sec)
	}
	if st := lstat(t, filepath.Join(data, "null")); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("null: mode %o rdev %d", st.Mode, st.Rdev)
	}
	for name, kind := range map[string]uint32{"fifo": unix.S_IFIFO, "sock": unix.S_IFSOCK} {
		if st := lstat(t, filepath.Join(data, name)); st.Mode&unix.S_IFMT != kind {
			t.Errorf("%s copied as mode %o", name, st.Mode)
		}
	}
	if st := lstat(t, data); st.Mode&0o7777 != 0o750 || st.Uid != 7 || st.Gid != 8 || st.Mtim.Sec != 1600000000 {
		t.Errorf("volume root: mode %o owner %d:%d mtime %d", st.Mode&0o7777, st.Uid, st.Gid, st.Mtim.Sec)
	}
	if got := getxattr(data, "user.root"); got != "r" {
		t.Errorf("volume root user.root = %q", got)
	}
	if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
		t.Errorf("scratch keeps %d entries after the move", len(entries))
	}
}

// TestCopyUpNeverOverwrites: a volume with content keeps it, whatever the
// image holds there.
func TestCopyUpNeverOverwrites(t *testing.T) {
	testenv.RequireRoot(t)
	root, data, scratch := copyUpDirs(t)
	imageTree(t, root)
	if err := os.WriteFile(filepath.Join(data, "a"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	copied, err := CopyUp(root, "/p", data, scratch)
	if err != nil || copied {
		t.Fatalf("CopyUp into a volume with content = %v, %v", copied, err)
	}
	entries, _ := os.ReadDir(data)
	if got, _ := os.ReadFile(filepath.Join(data, "a")); string(got) != "mine" || len(entries) != 1 {
		t.Errorf("volume now holds %d entries, a = %q", len(entries), got)
	}
}

// TestCopyUpStaysInRoot: the mount path resolves inside the image's root:
// a symlink aiming at a host directory copies nothing from the host, and
// a path that is missing or a file copies nothing at all.
func TestCopyUpStaysInRoot(t *testing.T) {
	testenv.RequireRoot(t)
	root, data, scratch := copyUpDirs(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "secret"), []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{"/escape", "/../../../.." + host, "/missing", "/file"} {
		copied, err := CopyUp(root, dest, data, scratch)
		if err != nil || copied {
			t.Errorf("%s: CopyUp = %v, %v; want nothing copied", dest, copied, err)
		}
		if entries, _ := os.ReadDir(data); len(entries) != 0 {
			t.Fatalf("%s: the volume got %d entries from outside the image", dest, len(entries))
		}
	}
}

// TestCopyUpFailureLeavesVolumeEmpty: a copy that cannot finish moves
// nothing into the volume.
func TestCopyUpFailureLeavesVolumeEmpty(t *testing.T) {
	testenv.RequireRoot(t)
	root, data, scratch := copyUpDirs(t)
	imageTree(t, root)
	// A scratch entry in the way: the copy of "a" fails with EEXIST after
	// other entries may have been copied.
	if err := os.Mkdir(filepath.Join(scratch, "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if copied, err := CopyUp(root, "/p", data, scratch); err == nil || copied {
		t.Fatalf("CopyUp = %v, %v; want an error", copied, err)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Errorf("a failed copy left %d entries in the volume", len(entries))
	}
	if empty, err := IsEmpty(data); !empty || err != nil {
		t.Errorf("IsEmpty = %v, %v", empty, err)
	}
}
