package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/berthkit/berth/internal/plainfile"
	"golang.org/x/sys/unix"
)

// ProcessStartTime returns the start time of process pid (clock ticks since
// boot, field 22 of /proc/<pid>/stat). A PID and its start time name a
// process for good: PIDs are reused, the pair is not.
func ProcessStartTime(pid int) (uint64, error) {
	data, err := plainfile.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: too few fields", pid)
	}
	if fields[0][0] == 'Z' || fields[0][0] == 'X' {
		return 0, fmt.Errorf("process %d has exited: %w", pid, ErrNotRunning)
	}
	return strconv.ParseUint(string(fields[19]), 10, 64)
}

// ProcessAlive reports whether the process pid that started at start is
// still running (and is not a zombie).
func ProcessAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := ProcessStartTime(pid)
	return err == nil && got == start
}

// Kill sends sig to the process pid that started at start, through a pidfd
// so that a reused PID is never signalled.
func Kill(pid int, start uint64, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("open process %d: %w", pid, err)
	}
	defer unix.Close(fd)
	if !ProcessAlive(pid, start) {
		return ErrNotRunning
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("signal process %d: %w", pid, err)
	}
	return nil
}

// WaitExit waits up to timeout (forever if negative) for the process pid
// that started at start to exit, and reports whether it did. It works for
// any process, not only children, through a pidfd.
func WaitExit(pid int, start uint64, timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // already gone
	}
	defer unix.Close(fd)
	if !ProcessAlive(pid, start) {
		return true
	}
	deadline := time.Now().Add(timeout)
	for {
		ms := -1
		if timeout >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return !ProcessAlive(pid, start)
			}
			ms = int(left/time.Millisecond) + 1
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if err == nil && n > 0 {
			return true
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return !ProcessAlive(pid, start)
		}
	}
}

// kernelLastCap asks the kernel for its highest capability the way libcap
// does without /proc: PR_CAPBSET_READ fails with EINVAL past it. In the
// container's init this spares a lookup through a procfs mounted a moment
// ago.
//
// The capabilities the kernel knows are 0 to its last, so a binary search
// over 0..63 takes 6 or 7 calls where counting down from 63 took 24.
func kernelLastCap() (int, bool) {
	valid := func(c int) bool {
		_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		return err == nil
	}
	if !valid(0) {
		return 0, false
	}
	lo, hi := 0, 64 // valid(lo); every c >= hi is not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if valid(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}

// readEtcFile reads at most limit bytes of path with plain system calls.
// os.Open would register the file with Go's poller, and in the container's
// init, which opens no other file that way, that is an epoll instance, an
// eventfd and four more system calls on every start, for two small files.
// O_NONBLOCK: an image's passwd file that is a FIFO reads as empty instead
// of holding the container's start until someone writes to it.
func readEtcFile(path string, limit int) (string, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	size := 4096
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Size > 0 {
		size = int(min(st.Size+1, int64(limit)))
	}
	buf := make([]byte, 0, size)
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), limit-len(buf)))
		}
		n, err := unix.Read(fd, buf[len(buf):min(cap(buf), limit)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	return string(buf), nil
}
