package runtime

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// statusFlags returns the file status flags of f's descriptor.
func statusFlags(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	if err := rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
	return flags
}

// An output pipe's read end is in the poller, so that wait's grace can
// close it under a blocked Read; the write end, the process's, is blocking
// and outside it; the data goes through.
func TestOutputPipeEnds(t *testing.T) {
	r, w, err := outputPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if statusFlags(t, w)&unix.O_NONBLOCK != 0 {
		t.Error("the process's end is non-blocking")
	}
	if err := w.SetWriteDeadline(time.Now()); !errors.Is(err, os.ErrNoDeadline) {
		t.Errorf("write end: SetWriteDeadline = %v, want os.ErrNoDeadline (not in the poller)", err)
	}
	if _, err := w.Write([]byte("out\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "out\n" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := r.Read(buf)
		read <- err
	}()
	time.Sleep(20 * time.Millisecond)
	r.Close()
	select {
	case err := <-read:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("blocked Read after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a blocked Read of the read end")
	}
}

// A container's process gets /dev/null as its standard input when it has
// none, and its output pipes in blocking mode, as exec.Cmd gave them.
func TestContainerStdioModes(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "readlink /proc/$$/fd/0; wc -c </proc/$$/fd/0; "+
		"for fd in 1 2; do sed -n 's/^flags:[[:space:]]*//p' /proc/$$/fdinfo/$fd; done")
	var out, errOut bytes.Buffer
	c, err := Start(spec, IO{Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("exit %+v, %v; stderr %q", st, err, errOut.String())
	}
	lines := strings.Fields(out.String())
	if len(lines) != 4 || lines[0] != "/dev/null" || lines[1] != "0" {
		t.Fatalf("output %q, want /dev/null, 0 bytes and two flag words", out.String())
	}
	for i, word := range lines[2:] {
		flags, err := strconv.ParseInt(word, 8, 64)
		if err != nil {
			t.Fatalf("fd %d flags %q: %v", i+1, word, err)
		}
		if flags&unix.O_NONBLOCK != 0 {
			t.Errorf("the process's fd %d is non-blocking (flags %s)", i+1, word)
		}
	}
}

// The sealed binary is made once a process: later starts get the same
// handle without looking for the binary again.
func TestSealedExeIsMadeOnce(t *testing.T) {
	first, err := sealedExe()
	if err != nil {
		t.Skipf("no sealed binary here: %v", err)
	}
	if !sealDone.Load() {
		t.Fatal("sealedExe returned without marking the seal done")
	}
	again, err := sealedExe()
	if err != nil || again != first {
		t.Errorf("second sealedExe = %p, %v; want the first handle %p", again, err, first)
	}
}
