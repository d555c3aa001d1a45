//go:build !unix

package plainfile

import "os"

// Open is os.Open where there is no poller attempt to save.
func Open(path string) (*os.File, error) {
	return os.Open(path)
}

// OpenFile is os.OpenFile where there is no poller attempt to save.
func OpenFile(path string, flags int) (*os.File, error) {
	return os.OpenFile(path, flags, 0)
}
