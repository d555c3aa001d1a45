package snapshot

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/berthkit/berth/internal/ovl"
	"golang.org/x/sys/unix"
)

// MountAt mounts m on target, an absolute path, with m.Dir as the working
// directory. The working directory belongs to the whole process, so the
// mount runs on a thread of its own that unshares its filesystem context and
// exits afterwards; the rest of the process never sees the change.
func MountAt(m Mount, target string) error {
	if !filepath.IsAbs(target) {
		return fmt.Errorf("mount target %q is not an absolute path", target)
	}
	if m.Type == FuseType {
		return FuseMount(m, target)
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread's working directory differs from the
		// process's, so Go must retire the thread when this goroutine ends.
		runtime.LockOSThread()
		if m.Dir != "" {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				errc <- fmt.Errorf("unshare filesystem context: %w", err)
				return
			}
			if err := unix.Chdir(m.Dir); err != nil {
				errc <- fmt.Errorf("chdir %s: %w", m.Dir, err)
				return
			}
		}
		errc <- ovl.Mount(m.Dir, m.Data(), func(data string) error {
			return unix.Mount(m.Source, target, m.Type, 0, data)
		})
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("mount %s on %s (%s): %w", m.Type, target, m.Data(), err)
	}
	return nil
}

// unmountAll unmounts whatever is mounted on target; nothing mounted is
// success, and a busy mount is detached.
func unmountAll(target string) error {
	for {
		mounted, err := isMountPoint(target)
		if err != nil || !mounted {
			return nil
		}
		err = unix.Unmount(target, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(target, unix.MNT_DETACH)
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil // raced with another unmount
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
}

func isNotEmpty(err error) bool { return errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) }

// isMountPoint reports whether path is the root of a mount, by comparing
// its mount ID with its parent's (statx's STATX_MNT_ID), which also sees a
// bind mount of the same filesystem.
func isMountPoint(path string) (bool, error) {
	var st, parent unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	if err := unix.Statx(unix.AT_FDCWD, filepath.Dir(path), unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &parent); err != nil {
		return false, err
	}
	if st.Mask&unix.STATX_MNT_ID != 0 && parent.Mask&unix.STATX_MNT_ID != 0 {
		return st.Mnt_id != parent.Mnt_id, nil
	}
	return st.Dev_major != parent.Dev_major || st.Dev_minor != parent.Dev_minor, nil
}
