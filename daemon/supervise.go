package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
)

// The daemon supervises the containers it starts, as the CLI's shim does
// for detached ones: it holds the AttachedContainer, waits for it and
// records its exit. Their output goes to every attached client (and to the
// container's log); the stdin of a container created with OpenStdin is a
// pipe that attached clients write into. Clients attach before they start
// the container (docker run), so a container's attachments and waiters
// exist before it runs.

// supervisor keeps the daemon's containers' streams and waiters.
type supervisor struct {
	s      *Server
	mu     sync.Mutex
	ctrs   map[string]*ctrState
	wg     sync.WaitGroup
	closed bool
}

// ctrState is what the daemon knows of one container beyond the store.
type ctrState struct {
	id        string
	stdinOnce bool
	// consoleSize is HostConfig.ConsoleSize (rows, columns): the
	// terminal's size at start.
	consoleSize [2]uint16
	attaches    map[*attachment]struct{}
	waiters     map[*waiter]struct{}
	run         *runState // nil unless the daemon runs it now
	lastExit    int
}

// runState is one run of a container under the daemon.
type runState struct {
	done      chan struct{} // closed when the run ends
	a         *engine.AttachedContainer
	stdinW    *os.File // nil without OpenStdin
	stdinOnce sync.Once
	autoRm    bool
}

func (r *runState) closeStdin() {
	r.stdinOnce.Do(func() {
		if r.stdinW != nil {
			r.stdinW.Close()
		}
	})
}

// waiter is a client blocked in POST /containers/{id}/wait.
type waiter struct {
	condition string // "not-running", "next-exit" or "removed"
	ch        chan int
}

func newSupervisor(s *Server) *supervisor {
	return &supervisor{s: s, ctrs: map[string]*ctrState{}}
}

// state returns the container's entry, creating it; the caller holds mu.
func (sv *supervisor) state(id string) *ctrState {
	st := sv.ctrs[id]
	if st == nil {
		st = &ctrState{id: id, attaches: map[*attachment]struct{}{}, waiters: map[*waiter]struct{}{}}
		sv.ctrs[id] = st
	}
	return st
}

// setStdinOnce records docker's StdinOnce for a container it creates (the
// store has no field for it): stdin closes when the attached client's
// input ends.
func (sv *supervisor) setStdinOnce(id string, once bool) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if once {
		sv.state(id).stdinOnce = true
	}
}

// setConsoleSize records HostConfig.ConsoleSize for a container it
// creates (rows, columns; zero keeps the default).
func (sv *supervisor) setConsoleSize(id string, size [2]uint) {
	if size[0] == 0 || size[1] == 0 || size[0] > 65535 || size[1] > 65535 {
		return
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.state(id).consoleSize = [2]uint16{uint16(size[0]), uint16(size[1])}
}

// running reports whether the daemon runs the container now.
func (sv *supervisor) running(id string) bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	st := sv.ctrs[id]
	return st != nil && st.run != nil
}

var errAlreadyStarted = errors.New("container already started")

// start runs a created or exited container under the daemon.
func (sv *supervisor) start(ctx context.Context, c *store.Container) error {
	sv.mu.Lock()
	if sv.closed {
		sv.mu.Unlock()
		return errors.New("the daemon is shutting down")
	}
	st := sv.state(c.ID)
	if st.run != nil || c.State.Running() {
		sv.mu.Unlock()
		return errAlreadyStarted
	}
	run := &runState{autoRm: c.Host.AutoRemove, done: make(chan struct{})}
	st.run = run // claims the container while it starts
	size := st.consoleSize
	sv.mu.Unlock()

	stdio := engine.Stdio{Out: &fanout{sv: sv, st: st, stream: 1}, Err: &fanout{sv: sv, st: st, stream: 2}}
	var stdinR *os.File
	if c.Config.OpenStdin {
		r, w, err := os.Pipe()
		if err != nil {
			sv.mu.Lock()
			st.run = nil
			sv.mu.Unlock()
			return err
		}
		stdinR, run.stdinW = r, w
		stdio.In = r
	}
	// The runtime forks the container from its one long-lived thread, so
	// the container's parent-death signal fires only when the daemon ends.
	a, err := sv.s.eng.StartAttached(context.WithoutCancel(ctx), c.ID, engine.AttachOptions{Stdio: stdio, ConsoleSize: size})
	if stdinR != nil {
		stdinR.Close() // the container has its own copy
	}
	if err != nil {
		run.closeStdin()
		sv.mu.Lock()
		st.run = nil
		st.lastExit = startExitCode(err)
		sv.endAttachesLocked(st)
		sv.mu.Unlock()
		if c.Host.AutoRemove {
			// As Docker: a container that could not start is removed too.
			_ = sv.s.eng.RemoveContainer(context.WithoutCancel(ctx), c.ID, true)
		}
		sv.mu.Lock()
		sv.notifyLocked(st, c.Host.AutoRemove)
		if c.Host.AutoRemove {
			delete(sv.ctrs, c.ID)
		}
		sv.mu.Unlock()
		return err
	}
	sv.mu.Lock()
	run.a = a
	for att := range st.attaches {
		if att.stdin != nil && run.stdinW != nil {
			go sv.copyStdin(st, run, att)
		}
	}
	sv.wg.Add(1)
	sv.mu.Unlock()
	go sv.wait(st, run)
	go sv.s.monitorHealth(c, run.done)
	return nil
}

// wait waits for a run to end, then ends its attachments and answers the
// waiters.
func (sv *supervisor) wait(st *ctrState, run *runState) {
	defer sv.wg.Done()
	code, err := run.a.Wait()
	close(run.done)
	if err != nil {
		sv.s.errorf("container %s: %v", st.id[:12], err)
	}
	run.closeStdin()
	sv.mu.Lock()
	defer sv.mu.Unlock()
	st.run = nil
	st.lastExit = code
	sv.endAttachesLocked(st)
	sv.notifyLocked(st, run.autoRm)
	if run.autoRm {
		delete(sv.ctrs, st.id)
	}
}

// notifyLocked answers the waiters a stop satisfies; removed says the
// container is gone too.
func (sv *supervisor) notifyLocked(st *ctrState, removed bool) {
	for w := range st.waiters {
		if w.condition == "removed" && !removed {
			continue
		}
		w.ch <- st.lastExit
		delete(st.waiters, w)
	}
}

// removed is called after DELETE /containers/{id}: removal waiters are
// answered and attachments end.
func (sv *supervisor) removed(id string) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	st := sv.ctrs[id]
	if st == nil {
		return
	}
	sv.endAttachesLocked(st)
	sv.notifyLocked(st, true)
	delete(sv.ctrs, id)
}

// addWaiter registers a wait for the container's next stop (or removal).
func (sv *supervisor) addWaiter(id, condition string) (*waiter, func()) {
	w := &waiter{condition: condition, ch: make(chan int, 1)}
	sv.mu.Lock()
	st := sv.state(id)
	st.waiters[w] = struct{}{}
	sv.mu.Unlock()
	return w, func() {
		sv.mu.Lock()
		delete(st.waiters, w)
		sv.mu.Unlock()
	}
}

// resize changes the terminal size of a container the daemon runs.
func (sv *supervisor) resize(id string, rows, cols uint16) error {
	sv.mu.Lock()
	st := sv.ctrs[id]
	var a *engine.AttachedContainer
	if st != nil && st.run != nil {
		a = st.run.a
	}
	sv.mu.Unlock()
	if a == nil {
		return nil
	}
	return a.Resize(rows, cols)
}

// shutdown stops every container the daemon runs (stop signal, then
// SIGKILL after timeout) and waits until their exits are recorded.
func (sv *supervisor) shutdown(timeout time.Duration) {
	if timeout < 0 {
		timeout = 0 // StopContainer's 0: SIGKILL at once
	}
	sv.mu.Lock()
	sv.closed = true
	var ids []string
	for id, st := range sv.ctrs {
		if st.run != nil {
			ids = append(ids, id)
		}
	}
	sv.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sv.s.eng.StopContainer(context.Background(), id, timeout); err != nil {
				sv.s.errorf("stop container %s: %v; killing it", id[:12], err)
				sv.kill(id)
			}
		}()
	}
	wg.Wait()
	sv.wg.Wait()
	sv.mu.Lock()
	for _, st := range sv.ctrs {
		sv.endAttachesLocked(st)
		for w := range st.waiters {
			w.ch <- st.lastExit
			delete(st.waiters, w)
		}
	}
	sv.mu.Unlock()
}

// kill sends SIGKILL to a container the daemon runs, whatever its record
// says (it may be gone with the store).
func (sv *supervisor) kill(id string) {
	sv.mu.Lock()
	var a *engine.AttachedContainer
	if st := sv.ctrs[id]; st != nil && st.run != nil {
		a = st.run.a
	}
	sv.mu.Unlock()
	if a == nil {
		return
	}
	_ = runtime.CgroupFor("", id).Thaw()
	_ = a.Signal(syscall.SIGKILL)
}

// startExitCode is the exit code Docker records for a container that could
// not start.
func startExitCode(err error) int {
	var se *runtime.StartError
	if errors.As(err, &se) {
		return se.Code
	}
	return runtime.CodeEngine
}

// --- attachments ---

// attachment is one client attached to a container's streams.
type attachment struct {
	out            *muxWriter
	stdout, stderr bool
	stdin          io.Reader // nil unless the client sends stdin
	close          func()
	done           chan struct{}
	once           sync.Once
}

func (a *attachment) end() {
	a.once.Do(func() {
		a.close()
		close(a.done)
	})
}

// attach adds a client to the container's streams. It reports whether the
// daemon runs the container now (or will when it is started here).
func (sv *supervisor) attach(id string, att *attachment) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed {
		att.end()
		return
	}
	st := sv.state(id)
	st.attaches[att] = struct{}{}
	if run := st.run; run != nil && run.a != nil && att.stdin != nil && run.stdinW != nil {
		go sv.copyStdin(st, run, att)
	}
}

// detach removes a client.
func (sv *supervisor) detach(id string, att *attachment) {
	sv.mu.Lock()
	if st := sv.ctrs[id]; st != nil {
		delete(st.attaches, att)
	}
	sv.mu.Unlock()
	att.end()
}

func (sv *supervisor) endAttachesLocked(st *ctrState) {
	for att := range st.attaches {
		att.end()
		delete(st.attaches, att)
	}
}

// copyStdin feeds a client's input to the container; with StdinOnce the
// end of that input closes the container's stdin (docker run -i).
func (sv *supervisor) copyStdin(st *ctrState, run *runState, att *attachment) {
	_, err := io.Copy(run.stdinW, att.stdin)
	if errors.Is(err, errDetached) {
		// The client typed the detach keys: it goes, the container
		// keeps running with its stdin open.
		sv.detach(st.id, att)
		return
	}
	sv.mu.Lock()
	once := st.stdinOnce
	sv.mu.Unlock()
	if err == nil && once {
		run.closeStdin()
	}
}

// fanout writes a container's stdout or stderr to its attached clients.
type fanout struct {
	sv     *supervisor
	st     *ctrState
	stream byte
}

func (f *fanout) Write(p []byte) (int, error) {
	f.sv.mu.Lock()
	targets := make([]*attachment, 0, len(f.st.attaches))
	for att := range f.st.attaches {
		if (f.stream == 1 && att.stdout) || (f.stream == 2 && att.stderr) {
			targets = append(targets, att)
		}
	}
	f.sv.mu.Unlock()
	for _, att := range targets {
		if err := att.out.frame(f.stream, p); err != nil {
			f.sv.detach(f.st.id, att)
		}
	}
	return len(p), nil
}

// muxWriter writes Docker's attach stream: raw with a terminal, else
// multiplexed frames (one byte stream: 1 stdout, 2 stderr, three zero
// bytes, the payload's length as big-endian uint32, the payload).
type muxWriter struct {
	mu  sync.Mutex
	w   io.Writer
	tty bool
}

func (m *muxWriter) frame(stream byte, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tty {
		_, err := m.w.Write(p)
		return err
	}
	buf := make([]byte, 8+len(p))
	buf[0] = stream
	binary.BigEndian.PutUint32(buf[4:8], uint32(len(p)))
	copy(buf[8:], p)
	_, err := m.w.Write(buf)
	return err
}

// streamOf returns a writer for one stream of m.
func (m *muxWriter) streamOf(stream byte) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		if err := m.frame(stream, p); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
