//go:build unix

package daemon

import "golang.org/x/sys/unix"

// umask sets the process's file mode creation mask and returns the old one.
func umask(mask int) int { return unix.Umask(mask) }
