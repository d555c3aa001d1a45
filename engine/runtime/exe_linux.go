package runtime

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The container's init is berth-init, a small binary installed beside
// berth that links only this package (initBinary says why and how it is
// found). Between the re-exec and the final execve the process's
// /proc/self/exe is that binary, and CVE-2019-5736 showed what a container
// can do with that: open it through /proc and overwrite the host's
// runtime. So the init is never executed from the host's file. It runs from a read-only view of it: an overlayfs
// made with fsopen/fsmount whose only layers are the binary's directory and
// an empty one. The mount is never attached anywhere (no mount table
// entry, nothing to leak), files on it cannot be opened for writing, and
// nothing is copied: this costs about 0.2 ms. Where that is unavailable
// (old kernels), a sealed memfd copy of the binary does the same job at the
// cost of copying it.

var (
	sealOnce sync.Once
	sealDone atomic.Bool // sealOnce has run: sealed and sealErr are final
	sealed   *os.File
	sealErr  error
)

// sealedExe returns an O_PATH (overlay) or sealed memfd handle on the
// init's binary, made once per process. A missing berth-init is looked for
// again on the next start (a daemon need not be restarted once it is
// installed).
func sealedExe() (*os.File, error) {
	// Once made, the handle is the answer whatever the binary's path:
	// every later start (a RUN step's spare, each run) skips the
	// readlink of /proc/self/exe and the stat of berth-init.
	if sealDone.Load() {
		return sealed, sealErr
	}
	exe, err := initBinary()
	if err != nil {
		return nil, err
	}
	sealOnce.Do(func() {
		sealed, sealErr = sealOverlay(exe)
		if sealErr != nil {
			var err error
			sealed, err = sealMemfd(exe)
			if err == nil {
				sealErr = nil
			} else {
				sealErr = fmt.Errorf("make a read-only copy of berth's binary for the container init: %v; %w", sealErr, err)
			}
		}
		sealDone.Store(true)
	})
	return sealed, sealErr
}

func escapeLowerDir(p string) string {
	return strings.ReplaceAll(strings.ReplaceAll(p, `\`, `\\`), `:`, `\:`)
}

// initOverride, when set (by a benchmark), is the init's binary.
var initOverride string

// InitName is the container init's binary (cmd/berth-init), installed in
// the same directory as berth.
const InitName = "berth-init"

// initBinary returns the path of the binary the container init runs from.
// That is berth-init, next to this process's own binary (symlinks
// resolved): a container start pays for the Go runtime and the package
// initializers of whatever binary its init is, and berth's links registry
// clients, protobuf, compressors and the CLI (114 packages initialized
// before the init can run, 28 in berth-init, and a binary a seventh the
// size to fault in). Without berth-init beside it (a `go install` of berth
// alone, a Go test binary), the process's own binary is the init: every
// binary that links this package can be, through its init function; only
// the start is slower.
func initBinary() (string, error) {
	if initOverride != "" {
		return initOverride, nil
	}
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return "", fmt.Errorf("find berth's binary: %w", err)
	}
	return initBeside(self), nil
}

// initBeside returns the init's binary for berth's binary self: berth-init
// beside it when that is a regular file, else self.
func initBeside(self string) string {
	exe := filepath.Join(filepath.Dir(self), InitName)
	if st, err := os.Stat(exe); err == nil && st.Mode().IsRegular() {
		return exe
	}
	return self
}

// sealOverlay opens the binary exe through a detached read-only overlayfs.
func sealOverlay(exe string) (*os.File, error) {
	dir, name := filepath.Split(exe)
	dir = filepath.Clean(dir)
	// Overlayfs without an upper dir needs two lower dirs; the second is
	// empty, below the binary's so it masks nothing: the root of a detached
	// tmpfs (a mount nobody can see or write), else a scratch directory.
	empty, cleanup, err := emptyLower(dir)
	if err != nil {
		return nil, err
	}
	// Closing a detached mount's last descriptor unmounts it and waits for
	// the kernel to be done with it: that is done in the background, once
	// the binary is open (its descriptor keeps the overlay alive).
	release := []func(){cleanup}
	defer func() {
		go func() {
			for i := len(release) - 1; i >= 0; i-- {
				release[i]()
			}
		}()
	}()
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen overlay: %w", err)
	}
	release = append(release, func() { unix.Close(fsfd) })
	lower := escapeLowerDir(dir) + ":" + escapeLowerDir(empty)
	if err := unix.FsconfigSetString(fsfd, "lowerdir", lower); err != nil {
		return nil, fmt.Errorf("fsconfig lowerdir=%s: %w", lower, err)
	}
	_ = unix.FsconfigSetString(fsfd, "xino", "off") // spares dmesg noise across filesystems
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("fsconfig create overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return nil, fmt.Errorf("fsmount overlay: %w", err)
	}
	release = append(release, func() { unix.Close(mfd) })
	fd, err := unix.Openat(mfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s through overlay: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "berth (sealed)"), nil
}

// emptyLower returns an empty directory for the overlay's second lower
// layer and what releases it once the overlay is made: the root of a
// detached, read-only tmpfs (a few microseconds, where making and removing
// a directory costs a few hundred on a busy ext4), or a scratch directory
// when the kernel cannot make one.
func emptyLower(dir string) (string, func(), error) {
	if fd, err := detachedTmpfs(); err == nil {
		return "/proc/self/fd/" + strconv.Itoa(fd), func() { unix.Close(fd) }, nil
	}
	empty, err := scratchDir(dir)
	if err != nil {
		return "", nil, err
	}
	return empty, func() { os.Remove(empty) }, nil
}

// detachedTmpfs makes an empty read-only tmpfs that is attached nowhere
// and returns its mount's descriptor.
func detachedTmpfs() (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "size", "4k"); err != nil {
		return -1, err
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, err
	}
	return unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
}

// scratchDir makes an empty directory that is neither inside dir nor
// above it: overlayfs refuses lower dirs nested in one another (ELOOP),
// and a berth binary kept in /tmp would otherwise always fall back to
// copying itself into a memfd.
func scratchDir(dir string) (string, error) {
	var lastErr error
	for _, base := range []string{os.TempDir(), "/run", "/dev/shm", "/var/tmp"} {
		empty, err := os.MkdirTemp(base, "berth-exe-")
		if err != nil {
			lastErr = err
			continue
		}
		if real, err := filepath.EvalSymlinks(empty); err == nil && !nested(real, dir) {
			return real, nil
		}
		os.Remove(empty)
		lastErr = fmt.Errorf("no scratch directory outside %s", dir)
	}
	return "", lastErr
}

// nested reports whether clean absolute paths a and b are the same or one
// contains the other.
func nested(a, b string) bool {
	within := func(x, y string) bool { return x == y || y == "/" || strings.HasPrefix(x, y+"/") }
	return within(a, b) || within(b, a)
}

// sealMemfd copies the binary exe into a memfd and seals it against writes.
func sealMemfd(exe string) (*os.File, error) {
	src, err := os.Open(exe)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("berth", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "berth (memfd)")
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy berth's binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	return f, nil
}

var hardenOnce sync.Once

// hardenFds marks every descriptor of this process above stderr
// close-on-exec, once. Go opens its own files that way, but a descriptor
// inherited from whoever started berth (a shell, a test harness) is not,
// and Go's fork would pass it to the container init: a directory
// descriptor there is a way out of the container (CVE-2024-21626).
func hardenFds() {
	hardenOnce.Do(func() {
		_ = unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	})
}
