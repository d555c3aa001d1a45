//go:build windows

package daemon

// umask does nothing on Windows, which has no creation mask; the socket's
// mode is set right after it is created.
func umask(mask int) int { return 0 }
