//go:build unix

package store

import (
	"io"
	"os"
	"syscall"
)

// openExcl creates path (which must not exist) for writing, as a plain
// file: os.NewFile of a blocking descriptor skips the poller, where
// os.OpenFile tries it (four fcntl calls and an epoll_ctl that a regular
// file refuses).
func openExcl(path string, perm os.FileMode) (*os.File, error) {
	return openBlocking(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL, perm)
}

// openBlocking opens path with flags (and O_CLOEXEC) as a plain blocking
// file, without trying the poller: what openExcl, openRead, readFile and
// openDir share.
func openBlocking(path string, flags int, perm os.FileMode) (*os.File, error) {
	fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openTrunc opens path for writing, created or truncated, without trying
// the poller (see openExcl).
func openTrunc(path string, perm os.FileMode) (*os.File, error) {
	return openBlocking(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, perm)
}

// openRead opens path for reading without trying the poller (see
// openExcl): a listing opens 20,000 manifests and configs at 10,000
// images, and os.Open cost each four fcntl calls and an epoll_ctl.
func openRead(path string) (*os.File, error) {
	return openBlocking(path, syscall.O_RDONLY, 0)
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

// readFile is os.ReadFile for the store's small records, opened without
// trying the poller (see openExcl).
func readFile(path string) ([]byte, error) {
	f, err := openRead(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := 512
	var st syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &st) == nil && st.Size > 0 && st.Size < 1<<30 {
		size = int(st.Size) + 1 // one read, and one more that sees the end
	}
	data := make([]byte, 0, size)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

// openDir opens a directory to lock it, without trying the poller.
func openDir(path string) (*os.File, error) {
	return openBlocking(path, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
}

// openLock opens (creating) a lock file without trying the poller (see
// openExcl): a build step takes the store's lock and the names lock twice
// between them.
func openLock(path string) (*os.File, error) {
	return openBlocking(path, syscall.O_RDWR|syscall.O_CREAT, 0o600)
}
