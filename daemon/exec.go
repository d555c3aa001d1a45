package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// execTable keeps exec instances: created by POST /containers/{id}/exec,
// run by POST /exec/{id}/start, read by GET /exec/{id}/json. Finished ones
// are forgotten after execKeep.
type execTable struct {
	mu    sync.Mutex
	execs map[string]*execState
}

const execKeep = 10 * time.Minute

type execState struct {
	id          string
	containerID string
	cfg         container.ExecCreateRequest

	mu       sync.Mutex
	started  bool
	running  bool
	exitCode *int
	pid      int
	proc     *engine.ExecProcess
	ended    time.Time
	closers  []func()
}

func newExecTable() *execTable { return &execTable{execs: map[string]*execState{}} }

func (t *execTable) add(e *execState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for id, old := range t.execs {
		old.mu.Lock()
		stale := !old.ended.IsZero() && now.Sub(old.ended) > execKeep
		old.mu.Unlock()
		if stale {
			delete(t.execs, id)
		}
	}
	t.execs[e.id] = e
}

func (t *execTable) get(id string) (*execState, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.execs[id]
	if e == nil {
		return nil, notFoundf("No such exec instance: %s", id)
	}
	return e, nil
}

// closeAll ends every exec stream (shutdown).
func (t *execTable) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.execs {
		e.mu.Lock()
		for _, c := range e.closers {
			c()
		}
		e.mu.Unlock()
	}
}

// execCreate is POST /containers/{id}/exec.
func (s *Server) execCreate(w *responseWriter, r *request) error {
	var req container.ExecCreateRequest
	if err := decodeJSON(r, s.opts.MaxJSON, &req); err != nil {
		return err
	}
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	switch c.State.Status {
	case store.StatusRunning:
	case store.StatusPaused:
		return conflictf("container %s is paused, unpause the container before exec", c.ID)
	default:
		return conflictf("container %s is not running", c.ID)
	}
	if len(req.Cmd) == 0 {
		return badRequestf("No exec command specified")
	}
	if req.DetachKeys != "" {
		if _, err := parseDetachKeys(req.DetachKeys); err != nil {
			return err
		}
	}
	e := &execState{id: store.RandomID(), containerID: c.ID, cfg: req}
	s.execs.add(e)
	s.emitContainer(events.Action("exec_create: "+strings.Join(req.Cmd, " ")), c.ID, map[string]string{"execID": e.id})
	return writeJSON(w, http.StatusCreated, container.ExecCreateResponse{ID: e.id})
}

// execStart is POST /exec/{id}/start: the process's streams over the
// hijacked connection (unless Detach), closed when it exits.
func (s *Server) execStart(w *responseWriter, r *request) error {
	e, err := s.execs.get(r.name)
	if err != nil {
		return err
	}
	var req container.ExecStartRequest
	if err := decodeJSON(r, s.opts.MaxJSON, &req); err != nil {
		return err
	}
	if err := e.claim(); err != nil {
		return err
	}
	opts := execOptions(e.cfg, req)
	st := &execStreams{}
	if !req.Detach {
		// The stream is raw or multiplexed as the start request says, as
		// dockerd: a client that asks for a terminal there reads raw bytes.
		if st, err = e.attach(w, r, req.Tty || e.cfg.Tty, &opts); err != nil {
			return err
		}
		if st.stdinR != nil {
			defer st.stdinR.Close()
		}
	}
	proc, err := s.eng.ExecContainer(context.WithoutCancel(r.Context()), e.containerID, opts)
	if err != nil {
		return e.startFailed(st, err)
	}
	e.mu.Lock()
	e.running, e.pid, e.proc = true, proc.Pid(), proc
	e.mu.Unlock()
	s.emitContainer(events.Action("exec_start: "+strings.Join(e.cfg.Cmd, " ")), e.containerID, map[string]string{"execID": e.id})
	st.pumpStdin()
	if req.Detach {
		go s.waitExec(e, proc, st)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	s.waitExec(e, proc, st)
	return nil
}

// claim marks the exec started: an exec instance runs once.
func (e *execState) claim() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return conflictf("Error: Exec command %s has already run", e.id)
	}
	e.started = true
	return nil
}

// execOptions is what the engine runs for an exec: its create request, with
// the start request's console size if it gives one.
func execOptions(cfg container.ExecCreateRequest, req container.ExecStartRequest) engine.ExecOptions {
	opts := engine.ExecOptions{
		Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User,
		Tty: cfg.Tty, Privileged: cfg.Privileged,
	}
	size := cfg.ConsoleSize
	if req.ConsoleSize != nil {
		size = req.ConsoleSize
	}
	if size != nil {
		opts.ConsoleSize = [2]uint16{uint16(size[0]), uint16(size[1])}
	}
	return opts
}

// execStreams are an exec's ends of its client's hijacked connection; all
// nil for a detached exec.
type execStreams struct {
	mux       *muxWriter
	closeConn func()
	in        io.Reader // what the client types, through the detach keys
	stdinR    *os.File  // the process's stdin
	stdinW    *os.File  // fed from in
}

// attach hijacks the connection, raw or multiplexed, and wires the streams
// the exec was created to attach into opts.
func (e *execState) attach(w *responseWriter, r *request, raw bool, opts *engine.ExecOptions) (*execStreams, error) {
	conn, rd, err := hijack(w, r, streamMediaType(raw))
	if err != nil {
		return nil, err
	}
	st := &execStreams{mux: &muxWriter{w: conn, tty: raw}, closeConn: closeOnce(conn)}
	e.mu.Lock()
	e.closers = append(e.closers, st.closeConn)
	e.mu.Unlock()
	if e.cfg.AttachStdout {
		opts.Stdio.Out = st.mux.streamOf(1)
	}
	if e.cfg.AttachStderr {
		opts.Stdio.Err = st.mux.streamOf(2)
	}
	if !e.cfg.AttachStdin {
		return st, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		st.closeConn()
		return nil, err
	}
	st.stdinR, st.stdinW, st.in = pr, pw, rd
	opts.Stdio.In = pr
	if raw {
		keys, err := parseDetachKeys(e.cfg.DetachKeys)
		if err != nil {
			keys, _ = parseDetachKeys("")
		}
		st.in = newEscapeProxy(rd, keys)
	}
	return st, nil
}

// startFailed records an exec that did not start and says why: as the
// response while none started, else on the stream's stderr, as Docker does.
func (e *execState) startFailed(st *execStreams, err error) error {
	code := startExitCode(err)
	e.mu.Lock()
	e.exitCode, e.ended = &code, time.Now()
	e.mu.Unlock()
	if st.stdinW != nil {
		st.stdinW.Close()
	}
	if st.closeConn == nil {
		return startError(err)
	}
	_ = st.mux.frame(2, []byte(startError(err).Error()+"\n"))
	st.closeConn()
	return nil
}

// pumpStdin copies what the client types to the process until either
// ends.
func (st *execStreams) pumpStdin() {
	if st.stdinW == nil {
		return
	}
	go func() {
		_, err := io.Copy(st.stdinW, st.in)
		if errors.Is(err, errDetached) {
			// Detach keys: the client goes, the process runs on.
			st.closeConn()
			return
		}
		st.stdinW.Close()
	}()
}

// waitExec waits for an exec's process, records its exit and ends its
// stream.
func (s *Server) waitExec(e *execState, proc *engine.ExecProcess, st *execStreams) {
	code, err := proc.Wait()
	if err != nil {
		s.logf("exec %s: %v", e.id[:12], err)
	}
	if st.stdinW != nil {
		st.stdinW.Close()
	}
	e.mu.Lock()
	e.running, e.exitCode, e.ended = false, &code, time.Now()
	e.mu.Unlock()
	s.emitContainer(events.ActionExecDie, e.containerID, map[string]string{"execID": e.id, "exitCode": strconv.Itoa(code)})
	if st.closeConn != nil {
		st.closeConn()
	}
}

// execResize is POST /exec/{id}/resize?h=&w=.
func (s *Server) execResize(w *responseWriter, r *request) error {
	e, err := s.execs.get(r.name)
	if err != nil {
		return err
	}
	rows, cols, err := sizeParams(r)
	if err != nil {
		return err
	}
	e.mu.Lock()
	proc := e.proc
	e.mu.Unlock()
	if proc == nil {
		return conflictf("exec %s is not running", e.id)
	}
	if err := proc.Resize(rows, cols); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// execInspect is GET /exec/{id}/json.
func (s *Server) execInspect(w *responseWriter, r *request) error {
	e, err := s.execs.get(r.name)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cfg := e.cfg
	entry, args := "", []string{}
	if len(cfg.Cmd) > 0 {
		entry, args = cfg.Cmd[0], cfg.Cmd[1:]
	}
	privileged := cfg.Privileged
	return writeJSON(w, http.StatusOK, container.ExecInspectResponse{
		ID: e.id, Running: e.running, ExitCode: e.exitCode, ContainerID: e.containerID, Pid: e.pid,
		OpenStdin: cfg.AttachStdin, OpenStdout: cfg.AttachStdout, OpenStderr: cfg.AttachStderr,
		CanRemove: !e.running && e.started,
		ProcessConfig: &container.ExecProcessConfig{
			Tty: cfg.Tty, Entrypoint: entry, Arguments: args, Privileged: &privileged, User: cfg.User,
		},
	})
}
