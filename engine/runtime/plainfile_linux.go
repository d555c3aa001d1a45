package runtime

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// openPlain opens path (close-on-exec) as a plain blocking file that stays
// out of Go's poller. os.Open tries the poller with every file it opens:
// two fcntl calls to make the descriptor non-blocking, an epoll_ctl that a
// regular file, a directory, /proc, nsfs or /dev/null refuses, and two
// more to make it blocking again, seven system calls where one does.
// Only for files whose reads never need a deadline or a concurrent Close.
func openPlain(path string, flags int) (*os.File, error) {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// readPlain is os.ReadFile through openPlain, for small /proc files.
func readPlain(path string) ([]byte, error) {
	f, err := openPlain(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// devNull is /dev/null opened once for reading, the standard input of
// every init started without one (a build's RUN step, a spare): exec.Cmd
// opens (through the poller) and closes /dev/null for each start that
// leaves Stdin nil. It is close-on-exec; a start hands the child its own
// copy as fd 0, and concurrent starts may share it.
var devNull = sync.OnceValues(func() (*os.File, error) {
	return openPlain(os.DevNull, unix.O_RDONLY)
})
