package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

// A detached container (docker run -d, docker start) needs a process that
// waits for it, keeps its output and records its exit after the CLI has
// gone: the shim, berth re-executed as "berth __berth_shim ROOT ID" in a
// session of its own. It starts the container as an attached one, reports
// on descriptor 3 whether that worked, then waits. The container's PID 1
// dies with the shim (parent-death signal), so a container is never left
// running without a supervisor.

// ShimVerb is the first argument of berth's re-execution of itself as a
// detached container's supervisor. The CLI routes it to Supervise before
// parsing flags.
const ShimVerb = "__berth_shim"

// shimReport is what the shim tells the starting process.
type shimReport struct {
	Pid   int                 `json:"pid,omitempty"`
	Error *runtime.StartError `json:"error,omitempty"`
}

func (e *Engine) startShim(ctx context.Context, c *store.Container) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return err
	}
	defer devnull.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{runtime.ExecName, ShimVerb, e.Root(), c.ID},
		Env:         os.Environ(),
		Stdin:       devnull,
		Stdout:      devnull,
		Stderr:      devnull,
		ExtraFiles:  []*os.File{w},
		SysProcAttr: detachedProcAttr(),
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("start the supervisor of container %s: %w", c.ShortID(), err)
	}
	// Reap the shim if this process outlives it (a test, a daemon).
	go func() { _ = cmd.Wait() }()
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("container %s: read its supervisor's report: %w", c.ShortID(), err)
	}
	var rep shimReport
	if len(data) == 0 || json.Unmarshal(data, &rep) != nil {
		return fmt.Errorf("container %s: its supervisor exited before starting it (%q)", c.ShortID(), data)
	}
	if rep.Error != nil {
		return rep.Error
	}
	e.EmitContext(ctx, trace.Event{Type: trace.ContainerStart, Container: &trace.ContainerInfo{
		ID: c.ID, Name: c.Name, Image: c.Image, Purpose: c.Purpose, Cmd: commandLine(c), Pid: rep.Pid,
	}})
	return nil
}

// Supervise is the shim's entry point; args are ROOT and ID (after
// ShimVerb). It returns the shim's exit code.
func Supervise(args []string) int {
	report := os.NewFile(3, "shim-report")
	send := func(rep shimReport) {
		_ = json.NewEncoder(report).Encode(rep)
		report.Close()
	}
	fail := func(err error) int {
		var se *runtime.StartError
		if !errors.As(err, &se) {
			se = &runtime.StartError{Code: runtime.CodeEngine, Msg: err.Error()}
		}
		send(shimReport{Error: se})
		return se.Code
	}
	if len(args) != 2 {
		return fail(fmt.Errorf("%s: want ROOT ID, got %q", ShimVerb, args))
	}
	// The shim outlives the terminal that started it.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	e, err := Open(args[0], Options{})
	if err != nil {
		return fail(err)
	}
	defer e.Close()
	c, err := e.Store.ReadContainer(args[1])
	if err != nil {
		return fail(err)
	}
	var stdio Stdio
	if c.Config.OpenStdin && !c.Config.Tty {
		// docker run -di: stdin stays open, and empty, for the container's life.
		pr, pw, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		defer pw.Close()
		defer pr.Close()
		stdio.In = pr
	}
	a, err := e.StartAttached(context.Background(), c.ID, AttachOptions{Stdio: stdio})
	if err != nil {
		return fail(err)
	}
	send(shimReport{Pid: a.Pid()})
	// A container whose record vanished (its root was deleted, as a test's
	// scratch directory is) has nobody left to stop it: end it.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		record := filepath.Join(e.Store.ContainerDir(c.ID), "config.json")
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			if _, err := os.Stat(record); errors.Is(err, os.ErrNotExist) {
				_ = a.Signal(syscall.SIGKILL)
				return
			}
		}
	}()
	if _, err := a.Wait(); err != nil {
		return runtime.CodeEngine
	}
	return 0
}
