//go:build unix

package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockLogRotation takes the log's rotation lock (path.lock beside it):
// exclusive while the writer renames the files, shared while a follower
// looks for and opens the files a rotation left, so that it never sees the
// numbering half shifted. The lock is advisory; failing to take it only
// loses that guarantee.
func lockLogRotation(path string, exclusive bool) (unlock func()) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return func() {}
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	return func() { f.Close() }
}
