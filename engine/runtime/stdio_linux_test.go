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

// A container handed the caller's own file could truncate it; it gets a
// pipe, so the file outside holds what was there plus the output.
func TestStdioIsPipeNotCallersFile(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := out.WriteString("earlier\n"); err != nil {
		t.Fatal(err)
	}
	in := strings.NewReader("one\ntwo\n")
	spec := newSpec(t, "sh", "-c", "readlink /proc/$$/fd/0 | cut -d: -f1; readlink /proc/$$/fd/1 | cut -d: -f1; : >/proc/$$/fd/1; wc -l; exit 5")
	c, err := Start(spec, IO{Stdin: in, Stdout: out, Stderr: out})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Code != 5 {
		t.Errorf("exit code %d, want 5", st.Code)
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if want := "earlier\npipe\npipe\n2\n"; string(data) != want {
		t.Errorf("file outside holds %q, want %q", data, want)
	}
}

type failingWriter struct{ n int }

var errBroken = errors.New("broken writer")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return 0, errBroken
}

// A writer that fails is dropped but the pipe is still read to its end:
// the process never blocks on output nobody takes.
func TestStdioDrainsPastAFailingWriter(t *testing.T) {
	w := &failingWriter{}
	var errOut bytes.Buffer
	p, err := newStdioPipes(IO{Stdout: w, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	// The "process": our own duplicates of its ends, taken before start
	// closes the originals.
	outFd, err := unix.Dup(int(p.child[1].Fd()))
	if err != nil {
		t.Fatal(err)
	}
	errFd, err := unix.Dup(int(p.child[2].Fd()))
	if err != nil {
		t.Fatal(err)
	}
	p.start(IO{Stdout: w, Stderr: &errOut})
	procOut, procErr := os.NewFile(uintptr(outFd), "out"), os.NewFile(uintptr(errFd), "err")
	big := bytes.Repeat([]byte("x"), 1<<20) // far more than a pipe holds
	if _, err := procOut.Write(big); err != nil {
		t.Fatalf("write to stdout blocked or failed: %v", err)
	}
	if _, err := procErr.WriteString("tail\n"); err != nil {
		t.Fatal(err)
	}
	procOut.Close()
	procErr.Close()
	err = p.wait(false)
	if !errors.Is(err, errBroken) {
		t.Errorf("wait: %v, want the writer's error", err)
	}
	if w.n == 0 || w.n > 64*1024 {
		t.Errorf("failing writer saw %d bytes, want one chunk", w.n)
	}
	if errOut.String() != "tail\n" {
		t.Errorf("stderr copy %q, want the whole tail", errOut.String())
	}
}

// A caller may close the stdin file it passed once Start returns (the
// daemon does): the container still reads all of it.
func TestStdinFileClosedAfterStart(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString("one\ntwo\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var out bytes.Buffer
	c, err := Start(newSpec(t, "wc", "-l"), IO{Stdin: r, Stdout: &out})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "2" {
		t.Errorf("container read %q lines, want 2", out.String())
	}
}

// drain's buffers are shared between containers (drainBufs): two
// containers writing more than a buffer's worth at once, and then two
// more, each get exactly their own output.
func TestStdioBuffersReusedAcrossContainers(t *testing.T) {
	var want strings.Builder
	for i := 1; i <= 20000; i++ {
		want.WriteString(strconv.Itoa(i) + "\n")
	}
	for round := 0; round < 2; round++ {
		var outs [2]bytes.Buffer
		var cs [2]*Container
		for i := range cs {
			spec := newSpec(t, "seq", "1", "20000")
			c, err := Start(spec, IO{Stdout: &outs[i], Stderr: &outs[i]})
			if err != nil {
				t.Fatal(err)
			}
			cs[i] = c
		}
		for i, c := range cs {
			if st, err := c.Wait(); err != nil || st.Code != 0 {
				t.Fatalf("round %d container %d: exit %+v, %v", round, i, st, err)
			}
			if outs[i].String() != want.String() {
				t.Errorf("round %d container %d: %d bytes of output, want %d, the same", round, i, outs[i].Len(), want.Len())
			}
		}
	}
}

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
