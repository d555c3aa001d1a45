//go:build unix

package store

import (
	"os"
	"syscall"
)

// openExcl creates path (which must not exist) for writing, as a plain
// file: os.NewFile of a blocking descriptor skips the poller, where
// os.OpenFile tries it (four fcntl calls and an epoll_ctl that a regular
// file refuses).
func openExcl(path string, perm os.FileMode) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// replace renames old over new with one rename(2): os.Rename first looks
// whether new is a directory, which the store's targets never are (and
// rename(2) refuses to put a file over a directory anyway).
func replace(old, new string) error {
	if err := syscall.Rename(old, new); err != nil {
		return &os.LinkError{Op: "rename", Old: old, New: new, Err: err}
	}
	return nil
}
