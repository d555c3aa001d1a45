//go:build unix

package store

import (
	"os"
	"syscall"
)

// syncDir flushes dir's entries, so a rename into it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// rmdir removes an empty directory with one rmdir(2): os.Remove tries
// unlink(2) first.
func rmdir(dir string) error { return syscall.Rmdir(dir) }
