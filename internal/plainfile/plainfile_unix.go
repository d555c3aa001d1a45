//go:build unix

package plainfile

import (
	"os"
	"syscall"
)

// Open opens path read-only and close-on-exec, outside the poller. Its
// error is os.Open's: an *os.PathError naming the path.
func Open(path string) (*os.File, error) {
	return OpenFile(path, syscall.O_RDONLY)
}

// OpenFile is Open with open(2)'s flags (O_RDONLY, O_DIRECTORY, ...; it
// creates nothing): close-on-exec is added.
func OpenFile(path string, flags int) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
