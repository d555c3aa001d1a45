//go:build !unix

package plainfile

import "os"

// Open is os.Open where there is no poller attempt to save.
func Open(path string) (*os.File, error) {
	return os.Open(path)
}
