//go:build unix

package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// flock takes (or converts to) an advisory whole-file lock on f, released
// when f is closed.
func flock(f *os.File, mode lockMode) error {
	how := unix.LOCK_EX
	if mode&lockShared != 0 {
		how = unix.LOCK_SH
	}
	if mode&lockNonBlocking != 0 {
		how |= unix.LOCK_NB
	}
	return unix.Flock(int(f.Fd()), how)
}
