//go:build windows

package store

import "os"

// openExcl creates path (which must not exist) for writing.
func openExcl(path string, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
}

// openRead opens path for reading.
func openTrunc(path string, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
}

func openRead(path string) (*os.File, error) { return os.Open(path) }

// replace renames old over new.
func replace(old, new string) error { return os.Rename(old, new) }

// readFile reads a whole file.
func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

// openDir opens a directory.
func openDir(path string) (*os.File, error) { return os.Open(path) }

// openLock opens (creating) a lock file.
func openLock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
}
