//go:build linux

package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// exchangeFiles swaps the names a and b atomically (both must exist):
// renameat2 with RENAME_EXCHANGE.
func exchangeFiles(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}
