package runtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// A container's terminal is allocated inside the container, from its own
// devpts instance, so that tty(1) and /proc/self/fd/0 name a device the
// container can see. The child sends the master end to the parent over a
// unix socket (SCM_RIGHTS), as runc does with its console socket.

// openPty opens a new pseudo-terminal from /dev/ptmx and returns its master
// and slave ends.
func openPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("get pty number: %w", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	return m, s, nil
}

// sendFd passes f over the unix socket sock.
func sendFd(sock int, f *os.File) error {
	return unix.Sendmsg(sock, []byte{'t'}, unix.UnixRights(int(f.Fd())), nil, 0)
}

// recvFd receives a file descriptor sent with sendFd. A peer that closed
// the socket without sending gives io.EOF-like errNoFd.
func recvFd(sock int) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive terminal: %w", err)
	}
	if n == 0 && oobn == 0 {
		return nil, errNoFd
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive terminal: bad control message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive terminal: bad rights (%v)", err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

var errNoFd = errors.New("container process exited before sending its terminal")

// SetConsoleSize sets the window size of a terminal (rows, columns); the
// kernel sends SIGWINCH to its foreground process group.
func SetConsoleSize(console *os.File, rows, cols uint16) error {
	return unix.IoctlSetWinsize(int(console.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}
