//go:build windows

package store

import (
	"os"

	"golang.org/x/sys/windows"
)

// flock takes a lock on f's first byte, released when f is closed. As with
// flock(2), locking again converts the lock: the old one is dropped first
// (Windows would otherwise stack the two).
func flock(f *os.File, mode lockMode) error {
	h := windows.Handle(f.Fd())
	_ = windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped))
	var flags uint32
	if mode&lockShared == 0 {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	if mode&lockNonBlocking != 0 {
		flags |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	return windows.LockFileEx(h, flags, 0, 1, 0, new(windows.Overlapped))
}
