//go:build windows

package store

import "os"

// syncDir does nothing on Windows: a directory cannot be opened for
// flushing there (FlushFileBuffers on it is "Access denied"), and NTFS
// journals the rename itself.
func syncDir(dir string) error { return nil }

// rmdir removes an empty directory.
func rmdir(dir string) error { return os.Remove(dir) }
