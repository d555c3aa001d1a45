package plainfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOpenStaysOutOfThePoller: the descriptor is blocking and
// close-on-exec, so os.File did not hand it to the poller (which leaves it
// non-blocking until it refuses, and keeps pollable ones so).
func TestOpenStaysOutOfThePoller(t *testing.T) {
	for _, path := range []string{t.TempDir(), "/proc/self/stat", os.Args[0]} {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		// Through the raw descriptor: f.Fd() would make it blocking.
		rc, err := f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var fl, fd int
		var ferr error
		if err := rc.Control(func(d uintptr) {
			fl, ferr = unix.FcntlInt(d, unix.F_GETFL, 0)
			if ferr == nil {
				fd, ferr = unix.FcntlInt(d, unix.F_GETFD, 0)
			}
		}); err != nil || ferr != nil {
			t.Fatal(err, ferr)
		}
		f.Close()
		if fl&unix.O_NONBLOCK != 0 || fd&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s: flags %#x, fd flags %#x; want blocking and close-on-exec", path, fl, fd)
		}
	}
}

// OpenFile passes open(2)'s flags on (O_DIRECTORY refuses a regular file,
// naming it) and keeps the file out of the poller: no deadline can be set.
func TestOpenFileFlags(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetReadDeadline(time.Now()); !errors.Is(err, os.ErrNoDeadline) {
		t.Errorf("SetReadDeadline = %v, want os.ErrNoDeadline (not in the poller)", err)
	}
	f.Close()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = OpenFile(path, unix.O_RDONLY|unix.O_DIRECTORY)
	if !errors.Is(err, unix.ENOTDIR) || !strings.Contains(err.Error(), path) {
		t.Errorf("O_DIRECTORY on a file: %v, want ENOTDIR naming %s", err, path)
	}
}
