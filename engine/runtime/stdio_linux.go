package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A container never receives one of the caller's file descriptors: handed
// the caller's stdout, a process could seek, truncate, fcntl or ioctl the
// caller's file or terminal, and keep it after berth is gone. So, as runc
// and Docker do, the process gets pipes that berth owns, and berth copies
// between them and the caller's streams (a terminal is a pty of the
// container's own, see console_linux.go).

// stdioPipes are the process's ends (given to the child, then closed here)
// and berth's ends of its standard streams.
type stdioPipes struct {
	child   [3]*os.File // stdin, stdout, stderr as the child sees them; nil: /dev/null
	stdinW  *os.File    // berth writes the caller's input here
	stdin   io.Reader   // the caller's input (a file: berth's own duplicate of it)
	outputs []*os.File  // berth reads the process's stdout and stderr here

	copies sync.WaitGroup // the output copies
	mu     sync.Mutex
	err    error // the first error writing to the caller
}

// newStdioPipes makes a pipe for each stream that stdio sets.
func newStdioPipes(stdio IO) (*stdioPipes, error) {
	p := &stdioPipes{}
	if stdio.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		p.child[0], p.stdinW, p.stdin = r, w, stdio.Stdin
		// A caller that passes a file may close it once Start returns
		// (it gave the container "its own copy"): copy from a duplicate.
		if f, ok := stdio.Stdin.(*os.File); ok {
			dup, err := dupFile(f)
			if err != nil {
				p.closeAll()
				return nil, fmt.Errorf("duplicate stdin: %w", err)
			}
			p.stdin = dup
		}
	}
	for i, w := range []io.Writer{stdio.Stdout, stdio.Stderr} {
		if w == nil {
			continue
		}
		r, cw, err := outputPipe()
		if err != nil {
			p.closeAll()
			return nil, fmt.Errorf("output pipe: %w", err)
		}
		p.child[i+1] = cw
		p.outputs = append(p.outputs, r)
	}
	return p, nil
}

// outputPipe is a pipe for a process's output: berth's read end in Go's
// poller (wait closes it under a blocked Read when the grace runs out),
// the process's write end a plain blocking descriptor that never enters
// it. os.Pipe registers both ends with the poller (two fcntl calls and an
// epoll_ctl each), and exec then makes the child's end blocking again
// (two more) and its close unregisters it (one more).
func outputPipe() (r, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	// O_NONBLOCK belongs to the read end's open file description alone:
	// the write end, the child's, stays blocking. A fresh read end has
	// no other status flag to keep.
	if _, err := unix.FcntlInt(uintptr(fds[0]), unix.F_SETFL, unix.O_NONBLOCK); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, err
	}
	// os.NewFile puts a non-blocking descriptor into the poller and
	// leaves a blocking one out.
	return os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1"), nil
}

// setOn gives cmd the child's ends; an unset stream stays nil (/dev/null):
// a nil *os.File in an interface is not nil.
func (p *stdioPipes) setOn(cmd *exec.Cmd) {
	if f := p.child[0]; f != nil {
		cmd.Stdin = f
	}
	if f := p.child[1]; f != nil {
		cmd.Stdout = f
	}
	if f := p.child[2]; f != nil {
		cmd.Stderr = f
	}
}

// start closes the child's ends (the child holds its own copies now) and
// starts copying.
func (p *stdioPipes) start(stdio IO) {
	p.closeChild()
	if p.stdinW != nil {
		go func() {
			// Not waited for: the caller's input may never end (a
			// terminal). The copy ends when the process's side closes.
			_, _ = io.Copy(p.stdinW, p.stdin)
			p.stdinW.Close()
			if f, ok := p.stdin.(*os.File); ok && p.stdin != stdio.Stdin {
				f.Close()
			}
		}()
	}
	i := 0
	for _, w := range []io.Writer{stdio.Stdout, stdio.Stderr} {
		if w == nil {
			continue
		}
		r := p.outputs[i]
		i++
		p.copies.Add(1)
		go func() {
			defer p.copies.Done()
			p.drain(w, r)
		}()
	}
}

// drain copies r to w until r ends. A writer that fails (a full disk under
// a log, a closed connection) is dropped, but the pipe is still read to its
// end: a process must never block on output nobody takes.
func (p *stdioPipes) drain(w io.Writer, r *os.File) {
	bufp := drainBufs.Get().(*[]byte)
	defer drainBufs.Put(bufp)
	buf := *bufp
	for {
		n, err := r.Read(buf)
		if n > 0 && w != nil {
			if _, werr := w.Write(buf[:n]); werr != nil {
				p.setErr(werr)
				w = nil
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				p.setErr(err)
			}
			return
		}
	}
}

// drainBufs keeps drain's buffers for the next container's output. Two
// fresh 32 KiB buffers a container were most of the heap a build step
// grew by between two collections, each page of it a page fault (some 20
// µs on a hypervisor that traps them). An io.Writer keeps no part of what
// it is given, so a buffer is free again once drain returns.
var drainBufs = sync.Pool{New: func() any {
	buf := make([]byte, 32*1024)
	return &buf
}}

// dupFile duplicates f's descriptor (close-on-exec) without f.Fd(), which
// would switch the shared file to blocking mode.
func dupFile(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(orig uintptr) {
		fd, dupErr = unix.FcntlInt(orig, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, dupErr
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func (p *stdioPipes) setErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = fmt.Errorf("copy the container's output: %w", err)
	}
}

// outputGrace bounds the wait for output after the process exited when
// something else still holds its pipes (an exec'd command's background
// child): what the process wrote is in the pipe already.
const outputGrace = 2 * time.Second

// wait waits until every output is copied. With grace, it stops waiting
// that long after being called and closes the pipes; a container's pipes
// close by themselves, as its PID namespace dies with its PID 1.
func (p *stdioPipes) wait(grace bool) error {
	done := make(chan struct{})
	go func() {
		p.copies.Wait()
		close(done)
	}()
	if grace {
		select {
		case <-done:
		case <-time.After(outputGrace):
			for _, r := range p.outputs {
				r.Close()
			}
			<-done
		}
	} else {
		<-done
	}
	p.closeAll()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *stdioPipes) closeChild() {
	for _, f := range p.child {
		if f != nil {
			f.Close()
		}
	}
}

// closeAll closes every end; closing twice is harmless.
func (p *stdioPipes) closeAll() {
	p.closeChild()
	if p.stdinW != nil {
		p.stdinW.Close()
	}
	for _, r := range p.outputs {
		r.Close()
	}
}
