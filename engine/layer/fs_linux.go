package layer

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// noOpenat2 is set once the kernel is found to lack openat2 (before Linux
// 5.6); tests set it to exercise the filepath-securejoin fallback.
var noOpenat2 atomic.Bool

// root is a directory that every path operation stays inside. Paths are
// resolved by file descriptor with the semantics of chroot: ".." at the root
// stays at the root and an absolute symlink starts from the root.
type root struct {
	fd   int
	file *os.File // same descriptor, for the securejoin fallback
}

func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &root{fd: fd, file: os.NewFile(uintptr(fd), dir)}, nil
}

func (r *root) Close() error { return r.file.Close() }

// openDir opens the directory rel ("" or "." for the root) inside the root,
// following symlinks as if the root were "/". flags is O_PATH or O_RDONLY.
func (r *root) openDir(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	if !noOpenat2.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags | unix.O_DIRECTORY | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		}
		for range 16 {
			fd, err := unix.Openat2(r.fd, rel, &how)
			switch err {
			case nil:
				return fd, nil
			case unix.EAGAIN, unix.EINTR: // a concurrent rename elsewhere in the mount; retry
				continue
			case unix.ENOSYS:
				// No openat2 (Linux < 5.6): filepath-securejoin emulates it.
				noOpenat2.Store(true)
			default:
				return -1, err
			}
			break
		}
		if !noOpenat2.Load() {
			return -1, unix.EAGAIN
		}
	}
	handle, err := pathrs.OpenatInRoot(r.file, rel)
	if err != nil {
		return -1, unwrapErrno(err)
	}
	defer handle.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(handle.Fd()), &st); err != nil {
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return -1, unix.ENOTDIR
	}
	if flags == unix.O_PATH {
		return unix.Dup(int(handle.Fd()))
	}
	f, err := pathrs.Reopen(handle, flags|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return -1, unwrapErrno(err)
	}
	defer f.Close()
	return unix.Dup(int(f.Fd()))
}

func unwrapErrno(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// mkdirAll opens the directory rel inside the root, creating missing
// directories (mode 0755, as Docker does for parents a layer omits).
func (r *root) mkdirAll(rel string, flags int) (int, error) {
	fd, err := r.openDir(rel, flags)
	if err != unix.ENOENT {
		return fd, err
	}
	parts := strings.Split(rel, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		fd, err := r.openDir(prefix, unix.O_PATH)
		if err == nil {
			unix.Close(fd)
			continue
		}
		if err != unix.ENOENT {
			return -1, err
		}
		parent, err := r.openDir(strings.Join(parts[:i], "/"), unix.O_PATH)
		if err != nil {
			return -1, err
		}
		err = unix.Mkdirat(parent, parts[i], 0o755)
		unix.Close(parent)
		if err == unix.EEXIST {
			// Something is there yet does not resolve: a dangling symlink.
			return -1, fmt.Errorf("%s is a dangling symlink: %w", prefix, unix.ENOENT)
		}
		if err != nil {
			return -1, err
		}
	}
	return r.openDir(rel, flags)
}

// lstatAt stats name in dirFD without following a symlink. ok is false when
// nothing is there.
func lstatAt(dirFD int, name string) (st unix.Stat_t, ok bool, err error) {
	err = unix.Fstatat(dirFD, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return st, false, nil
	}
	return st, err == nil, err
}

// removeAllAt removes name in dirFD and, for a directory, everything in it,
// never following a symlink. A missing name is not an error.
func removeAllAt(dirFD int, name string) error {
	err := unix.Unlinkat(dirFD, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	fd, err := unix.Openat(dirFD, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := removeChildren(fd, nil); err != nil {
		return err
	}
	err = unix.Unlinkat(dirFD, name, unix.AT_REMOVEDIR)
	if err == unix.ENOENT {
		return nil
	}
	return err
}

// removeChildren removes the entries of the directory fd (and closes it),
// except those keep (if not nil) returns true for.
func removeChildren(fd int, keep func(name string) bool) error {
	dir := os.NewFile(uintptr(fd), "dir")
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		if keep != nil && keep(name) {
			continue
		}
		if err := removeAllAt(fd, name); err != nil {
			return fmt.Errorf("remove %s: %w", name, err)
		}
	}
	return nil
}

// procPath names an entry of dirFD through /proc, for the calls (lsetxattr,
// chmod) that have no descriptor-relative, no-follow form. The magic link
// resolves to exactly the directory the descriptor holds, and the last
// component is looked up by the l* call without following it.
func procPath(dirFD int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirFD) + "/" + name
}
