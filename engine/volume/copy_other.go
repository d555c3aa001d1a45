//go:build !linux

package volume

import "errors"

// errNeedsLinux: volumes are filled from an image only where containers
// run.
var errNeedsLinux = errors.New("filling a volume from an image needs Linux")

// CopyUp needs Linux (see copy_linux.go).
func CopyUp(root, dest, dataDir, scratch string) (bool, error) { return false, errNeedsLinux }

// IsEmpty needs Linux (see copy_linux.go).
func IsEmpty(dir string) (bool, error) { return false, errNeedsLinux }
