//go:build !linux

package layer

import (
	"context"
	"errors"
	"io"
)

var errNotLinux = errors.New("layers are diffed and applied only on Linux; replay a recorded lesson instead")

// Diff needs Linux (overlayfs whiteouts, xattrs, SEEK_DATA).
func Diff(ctx context.Context, upperDir string, w io.Writer, opts DiffOptions) (*DiffResult, error) {
	return nil, errNotLinux
}

// Changes needs Linux.
func Changes(upperDir string, lowerDirs []string) ([]Change, error) {
	return nil, errNotLinux
}

// Apply needs Linux (openat2 with RESOLVE_IN_ROOT).
func Apply(ctx context.Context, root string, r io.Reader, opts ApplyOptions) (*ApplyResult, error) {
	return nil, errNotLinux
}
