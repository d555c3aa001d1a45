//go:build linux

package volume

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// CopyUp fills the volume directory dataDir, when it is empty, with what
// the container's root file system root holds at dest, as Docker does
// when it creates a container (moby's populateVolumes): owners, modes
// (setuid and setgid included), times, extended attributes (file
// capabilities, user.*), hard links (as links to one inode), symlinks (as
// symlinks, never followed) and device, fifo and socket nodes; the
// volume's root takes the directory's owner, mode, xattrs and times. It
// reports whether it copied: a volume with content keeps it, and nothing
// at dest in the image (or not a directory) leaves the volume as it is.
//
// dest is resolved inside root (a symlink in the image never leads out of
// it). scratch is an empty directory on dataDir's file system that no
// container sees: the copy is built there and then moved into dataDir
// entry by entry, never replacing one, so a copy that fails half way
// leaves the volume empty rather than half filled. The caller removes
// scratch.
func CopyUp(root, dest, dataDir, scratch string) (bool, error) {
	vol, err := openDir(unix.AT_FDCWD, dataDir)
	if err != nil {
		return false, err
	}
	defer unix.Close(vol)
	if names, err := dirNames(vol); err != nil || len(names) > 0 {
		return false, err
	}
	src, err := openImageDir(root, dest)
	if err != nil || src == nil {
		return false, err
	}
	defer src.Close()
	tmp, err := openDir(unix.AT_FDCWD, scratch)
	if err != nil {
		return false, err
	}
	defer unix.Close(tmp)
	c := &copier{links: map[fileID]string{}, top: tmp}
	if err := c.tree(int(src.Fd()), tmp, ""); err != nil {
		return false, err
	}
	if err := moveEntries(tmp, vol); err != nil {
		return false, err
	}
	return true, copyRootMetadata(int(src.Fd()), vol)
}

// IsEmpty reports whether the directory dir has no entries.
func IsEmpty(dir string) (bool, error) {
	fd, err := openDir(unix.AT_FDCWD, dir)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	names, err := dirNames(fd)
	return len(names) == 0, err
}

// openImageDir opens dest inside root as a directory; nil when the image
// has nothing there or something that is not a directory, as Docker skips
// such a path.
func openImageDir(root, dest string) (*os.File, error) {
	h, err := pathrs.OpenInRoot(root, dest)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in the image: %w", dest, err)
	}
	defer h.Close()
	dir, err := pathrs.Reopen(h, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC)
	if errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in the image: %w", dest, err)
	}
	return dir, nil
}

func openDir(dir int, name string) (int, error) {
	fd, err := unix.Openat(dir, name, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return fd, nil
}

// dirNames lists a directory through a descriptor of its own, so the
// caller's offset is untouched.
func dirNames(dir int) ([]string, error) {
	fd, err := openDir(dir, ".")
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}

// fileID names an inode, to copy hard links as links.
type fileID struct{ dev, ino uint64 }

// copier copies one tree. links maps each multiply linked source inode
// already copied to its copy's path relative to top, the scratch
// directory, which only this copy writes to.
type copier struct {
	links map[fileID]string
	top   int
}

func (c *copier) tree(src, dst int, rel string) error {
	names, err := dirNames(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := c.entry(src, dst, rel, name); err != nil {
			return fmt.Errorf("%s: %w", path.Join(rel, name), err)
		}
	}
	return nil
}

func (c *copier) entry(src, dst int, rel, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	kind := st.Mode & unix.S_IFMT
	if kind != unix.S_IFDIR && st.Nlink > 1 {
		id := fileID{uint64(st.Dev), st.Ino}
		if first, ok := c.links[id]; ok {
			// A second name of an inode copied already: link to the copy,
			// which has its content and metadata.
			return unix.Linkat(c.top, first, dst, name, 0)
		}
		c.links[id] = path.Join(rel, name)
	}
	var err error
	switch kind {
	case unix.S_IFDIR:
		err = c.dir(src, dst, rel, name)
	case unix.S_IFREG:
		err = copyFile(src, dst, name)
	case unix.S_IFLNK:
		var target string
		if target, err = readlinkat(src, name); err == nil {
			err = unix.Symlinkat(target, dst, name)
		}
	default: // devices, fifos, sockets
		err = unix.Mknodat(dst, name, st.Mode, int(st.Rdev))
	}
	if err != nil {
		return err
	}
	return copyMetadata(src, dst, name, &st)
}

func (c *copier) dir(src, dst int, rel, name string) error {
	if err := unix.Mkdirat(dst, name, 0o700); err != nil {
		return err
	}
	s, err := openDir(src, name)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	d, err := openDir(dst, name)
	if err != nil {
		return err
	}
	defer unix.Close(d)
	return c.tree(s, d, path.Join(rel, name))
}

func copyFile(src, dst int, name string) error {
	s, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	in := os.NewFile(uintptr(s), name)
	defer in.Close()
	d, err := unix.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(d), name)
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyMetadata gives dst's entry name the owner, mode, xattrs and times of
// src's, in that order: chown clears setuid, setgid and
// security.capability, and setting anything but times changes none.
func copyMetadata(src, dst int, name string, st *unix.Stat_t) error {
	if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		// Made a moment ago in the scratch directory, so not a symlink.
		if err := unix.Fchmodat(dst, name, st.Mode&0o7777, 0); err != nil {
			return err
		}
	}
	// The l* calls on /proc/self/fd/<dir>/<name> act on the entry itself,
	// a symlink included: there is no descriptor-relative form.
	if err := copyXattrs(procPath(src, name), procPath(dst, name), unix.Llistxattr, unix.Lgetxattr, unix.Lsetxattr); err != nil {
		return err
	}
	return unix.UtimesNanoAt(dst, name, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
}

// copyRootMetadata gives the volume's root the image directory's owner,
// mode, xattrs and times, as Docker's copy does.
func copyRootMetadata(src, vol int) error {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return err
	}
	if err := unix.Fchown(vol, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := unix.Fchmod(vol, st.Mode&0o7777); err != nil {
		return err
	}
	if err := copyXattrs(fdPath(src), fdPath(vol), unix.Listxattr, unix.Getxattr, unix.Setxattr); err != nil {
		return err
	}
	return unix.UtimesNanoAt(vol, ".", []unix.Timespec{st.Atim, st.Mtim}, 0)
}

// copyXattrs copies every extended attribute the source lists (through
// the container's overlay, which hides its own). An attribute the volume's
// file system cannot hold is skipped, as Docker does, and so are trusted.*
// ones where only the initial namespace's CAP_SYS_ADMIN may set them.
func copyXattrs(src, dst string,
	list func(string, []byte) (int, error),
	get func(string, string, []byte) (int, error),
	set func(string, string, []byte, int) error,
) error {
	names, err := xattrCall(func(b []byte) (int, error) { return list(src, b) })
	if errors.Is(err, unix.ENOTSUP) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, name := range strings.Split(string(names), "\x00") {
		if name == "" {
			continue
		}
		value, err := xattrCall(func(b []byte) (int, error) { return get(src, name, b) })
		if errors.Is(err, unix.ENODATA) {
			continue // removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("get xattr %s: %w", name, err)
		}
		err = set(dst, name, value, 0)
		if errors.Is(err, unix.ENOTSUP) || (errors.Is(err, unix.EPERM) && strings.HasPrefix(name, "trusted.")) {
			continue
		}
		if err != nil {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

// xattrCall runs a list or get call with a buffer of the size it asks
// for, again when the value grew in between (ERANGE).
func xattrCall(call func([]byte) (int, error)) ([]byte, error) {
	for {
		size, err := call(nil)
		if err != nil || size == 0 {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := call(buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// moveEntries moves what the scratch directory holds into the volume,
// never replacing an entry there (one a container sharing the volume
// wrote meanwhile stays).
func moveEntries(tmp, vol int) error {
	names, err := dirNames(tmp)
	if err != nil {
		return err
	}
	for _, name := range names {
		err := unix.Renameat2(tmp, name, vol, name, unix.RENAME_NOREPLACE)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("move %s into the volume: %w", name, err)
		}
	}
	return nil
}

func readlinkat(dir int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

func procPath(dir int, name string) string { return fdPath(dir) + "/" + name }
