package runtime

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// propagationFlags are the mount(2) flags of Docker's bind propagation modes.
var propagationFlags = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
}

// volumeMounts makes the container's binds, volumes and tmpfs mounts inside
// root, before pivot_root. Sources are opened without following symlinks
// (the engine resolved the path the user named), targets are resolved
// inside root (a symlink in the image cannot send the mount outside it),
// and both are mounted through their descriptors, so nothing can be
// swapped between the check and the mount.
func volumeMounts(root string, mounts []Mount) error {
	for _, m := range mounts {
		var err error
		if m.Type == "tmpfs" {
			err = tmpfsVolume(root, m)
		} else {
			err = bindVolume(root, m)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func tmpfsVolume(root string, m Mount) error {
	dst, err := volumeTarget(root, m.Destination, false)
	if err != nil {
		return err
	}
	defer dst.Close()
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if m.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := mount("tmpfs", fdPath(int(dst.Fd())), "tmpfs", flags, m.Data); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", m.Destination, err)
	}
	return nil
}

func bindVolume(root string, m Mount) error {
	src, err := unix.Open(m.Source, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bind source %s: %w", m.Source, err)
	}
	defer unix.Close(src)
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return fmt.Errorf("bind source %s: %w", m.Source, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("bind source %s is a symbolic link", m.Source)
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	dst, err := volumeTarget(root, m.Destination, !isDir)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := mount(fdPath(src), fdPath(int(dst.Fd())), "bind", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", m.Source, m.Destination, err)
	}
	// The mount is on the path the handle had when it was opened; the flag
	// changes below name it by that path, checked to be inside root.
	target, err := pathInRoot(root, int(dst.Fd()))
	if err != nil {
		return err
	}
	prop := m.Propagation
	if prop == "" {
		prop = "rprivate"
	}
	if flag, ok := propagationFlags[prop]; ok {
		if err := mount("", target, "", flag, ""); err != nil {
			return err
		}
	}
	if m.ReadOnly {
		return remountReadonly(target)
	}
	return nil
}

// volumeTarget returns an O_PATH handle on the mount point dest inside
// root, creating it (a directory, or an empty file when isFile) if
// missing. pathrs-lite resolves every component inside root, race-free
// (openat2 RESOLVE_IN_ROOT where the kernel has it): a symlink in the image,
// or one swapped in meanwhile by another container sharing a volume, never
// leads out of root, and nothing is created outside it.
func volumeTarget(root, dest string, isFile bool) (*os.File, error) {
	rootDir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer rootDir.Close()
	if !isFile {
		h, err := pathrs.MkdirAllHandle(rootDir, dest, 0o755)
		if err != nil {
			return nil, targetError(dest, err)
		}
		return h, nil
	}
	parent, err := pathrs.MkdirAllHandle(rootDir, path.Dir(dest), 0o755)
	if err != nil {
		return nil, targetError(dest, err)
	}
	defer parent.Close()
	base := path.Base(dest)
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		if err = unix.Mknodat(int(parent.Fd()), base, unix.S_IFREG|0o644, 0); err == nil || errors.Is(err, unix.EEXIST) {
			fd, err = unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create mount target %s: %w", dest, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR || st.Mode&unix.S_IFMT == unix.S_IFLNK {
		unix.Close(fd)
		return nil, fmt.Errorf("mount target %s is a directory or a symbolic link, the source is a file", dest)
	}
	return os.NewFile(uintptr(fd), dest), nil
}

// targetError words a mount point that cannot be made, saying how its
// path is read (a dangling symlink is the usual cause).
func targetError(dest string, err error) error {
	return fmt.Errorf("create mount target %s (symbolic links on its path resolve inside the container's root filesystem, and must not dangle there): %w", dest, err)
}

// pathInRoot is the path a descriptor refers to, refused unless it is
// under root (named through symlinks or not).
func pathInRoot(root string, fd int) (string, error) {
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	p, err := os.Readlink(fdPath(fd))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/") {
		return "", fmt.Errorf("mount point %s is outside the container's root %s", p, root)
	}
	return p, nil
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
