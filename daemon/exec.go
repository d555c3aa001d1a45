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
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return conflictf("Error: Exec command %s has already run", e.id)
	}
	e.started = true
	e.mu.Unlock()
	cfg := e.cfg
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
	var stdinW *os.File
	var closeConn func()
	var in io.Reader
	var mux *muxWriter
	// The stream is raw or multiplexed as the start request says, as
	// dockerd: a client that asks for a terminal there reads raw bytes.
	rawStream := req.Tty || cfg.Tty
	if !req.Detach {
		conn, rd, err := hijack(w, r, streamMediaType(rawStream))
		if err != nil {
			return err
		}
		closeConn = closeOnce(conn)
		e.mu.Lock()
		e.closers = append(e.closers, closeConn)
		e.mu.Unlock()
		mux = &muxWriter{w: conn, tty: rawStream}
		if cfg.AttachStdout {
			opts.Stdio.Out = mux.streamOf(1)
		}
		if cfg.AttachStderr {
			opts.Stdio.Err = mux.streamOf(2)
		}
		if cfg.AttachStdin {
			pr, pw, err := os.Pipe()
			if err != nil {
				closeConn()
				return err
			}
			defer pr.Close()
			stdinW = pw
			opts.Stdio.In = pr
			in = rd
			if rawStream {
				keys, err := parseDetachKeys(cfg.DetachKeys)
				if err != nil {
					keys, _ = parseDetachKeys("")
				}
				in = newEscapeProxy(rd, keys)
			}
		}
	}
	proc, err := s.eng.ExecContainer(context.WithoutCancel(r.Context()), e.containerID, opts)
	if err != nil {
		code := startExitCode(err)
		e.mu.Lock()
		e.exitCode, e.ended = &code, time.Now()
		e.mu.Unlock()
		if stdinW != nil {
			stdinW.Close()
		}
		if closeConn == nil {
			return startError(err)
		}
		// The stream started: say why on its stderr, as Docker does.
		_ = mux.frame(2, []byte(startError(err).Error()+"\n"))
		closeConn()
		return nil
	}
	e.mu.Lock()
	e.running, e.pid, e.proc = true, proc.Pid(), proc
	e.mu.Unlock()
	s.emitContainer(events.Action("exec_start: "+strings.Join(cfg.Cmd, " ")), e.containerID, map[string]string{"execID": e.id})
	if stdinW != nil {
		go func() {
			_, err := io.Copy(stdinW, in)
			if errors.Is(err, errDetached) {
				// Detach keys: the client goes, the process runs on.
				closeConn()
				return
			}
			stdinW.Close()
		}()
	}
	finish := func() {
		code, err := proc.Wait()
		if err != nil {
			s.logf("exec %s: %v", e.id[:12], err)
		}
		if stdinW != nil {
			stdinW.Close()
		}
		e.mu.Lock()
		e.running, e.exitCode, e.ended = false, &code, time.Now()
		e.mu.Unlock()
		s.emitContainer(events.ActionExecDie, e.containerID, map[string]string{"execID": e.id, "exitCode": strconv.Itoa(code)})
		if closeConn != nil {
			closeConn()
		}
	}
	if req.Detach {
		go finish()
		w.WriteHeader(http.StatusOK)
		return nil
	}
	finish()
	return nil
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
