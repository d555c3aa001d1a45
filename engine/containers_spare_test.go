//go:build linux

package engine_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
)

// aheadPid starts the init of the container opts will create ahead and
// waits until it is in that container's cgroup; it returns its PID.
func aheadPid(t *testing.T, opts *engine.ContainerCreateOptions) (*engine.Spare, int) {
	t.Helper()
	spare := engine.StartAhead(opts)
	if spare == nil {
		t.Fatal("no init was started ahead")
	}
	cg := runtime.CgroupFor("", spare.ID())
	// Not a timed assertion: the wait ends as soon as the spare is
	// there, and only a spare that never comes reaches the bound.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if pids, _ := cg.Pids(); len(pids) == 1 {
			return spare, pids[0]
		}
	}
	spare.Discard(nil)
	t.Fatal("the init started ahead never appeared in its cgroup")
	return nil, 0
}

// firstWrite keeps what is written and closes wrote on the first write.
type firstWrite struct {
	bytes.Buffer
	wrote chan struct{}
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.Len() == 0 {
		defer close(w.wrote)
	}
	return w.Buffer.Write(p)
}

func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	// A zombie is as good as gone: it runs nothing.
	return err == nil && !strings.Contains(string(data), ") Z ")
}

// `berth run`: the container created with the ID chosen ahead takes the
// init started in its cgroup: same PID in its record, its cgroup, its
// output; the events and the removal are a run's.
func TestRunTakesTheInitStartedAhead(t *testing.T) {
	e, rec := ctrEngine(t)
	ctx := context.Background()
	for _, mode := range []string{"host", "none", "bridge", "limits"} {
		opts := engine.ContainerCreateOptions{Image: "busybox", Cmd: []string{"sh", "-c", "echo ran; exec sleep 60"}, AutoRemove: true, NetworkMode: mode}
		if mode == "limits" {
			opts.NetworkMode, opts.Memory, opts.PidsLimit, opts.CPUShares = "host", 64<<20, 50, 512
		}
		spare, pid := aheadPid(t, &opts)
		c := ctrCreate(t, e, opts)
		if c.ID != spare.ID() {
			t.Fatalf("%s: created %s, not the ID chosen ahead %s", mode, c.ID, spare.ID())
		}
		out := &firstWrite{wrote: make(chan struct{})}
		a, err := e.StartAttached(ctx, c.ID, engine.AttachOptions{Stdio: engine.Stdio{Out: out, Err: out}})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		<-out.wrote // the command runs
		if a.Pid() != pid {
			t.Errorf("%s: the container's init is %d, not the one started ahead %d", mode, a.Pid(), pid)
		}
		if r, err := e.Container(ctx, c.ID); err != nil || r.State.Pid != pid || !r.State.Running() {
			t.Errorf("%s: record %+v %v, want running with PID %d", mode, r.State, err, pid)
		}
		if pids, _ := runtime.CgroupFor("", c.ID).Pids(); len(pids) != 1 || pids[0] != pid {
			t.Errorf("%s: the container's cgroup holds %v, want %d", mode, pids, pid)
		}
		if mode == "limits" {
			dir := runtime.CgroupFor("", c.ID).Paths()["pids"]
			if data, err := os.ReadFile(filepath.Join(dir, "pids.max")); err != nil || strings.TrimSpace(string(data)) != "50" {
				t.Errorf("pids.max %q %v, want 50", data, err)
			}
		}
		_ = a.Signal(syscall.SIGKILL)
		if code, err := a.Wait(); err != nil || code != 137 || out.String() != "ran\n" {
			t.Errorf("%s: wait %d %v, output %q", mode, code, err, out.String())
		}
		spare.Discard(e)
		assertGone(t, e, c.ID, pid)
		want := "container.create container.start container.exit container.remove"
		if got := strings.Join(rec.types(c.ID), " "); got != want {
			t.Errorf("%s: events %q, want %q", mode, got, want)
		}
	}
}

// A create that fails (an unknown image, a taken name), or a container
// whose options no longer fit the init started ahead, leaves no process
// and no cgroup of it once Discard ran; the errors are the usual ones.
func TestInitStartedAheadIsDiscarded(t *testing.T) {
	e, _ := ctrEngine(t)
	ctx := context.Background()
	ctrCreate(t, e, engine.ContainerCreateOptions{Name: "taken", Cmd: []string{"true"}})
	cases := map[string]struct {
		opts engine.ContainerCreateOptions
		err  string
	}{
		"unknown image": {engine.ContainerCreateOptions{Image: "nosuchimage"}, "No such image: nosuchimage:latest"},
		"name taken":    {engine.ContainerCreateOptions{Image: "busybox", Name: "taken"}, `The container name "/taken" is already in use`},
		"bad network":   {engine.ContainerCreateOptions{Image: "busybox", NetworkMode: "nosuchnet"}, "network nosuchnet not found"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			opts := tc.opts
			opts.Cmd = []string{"true"}
			spare, pid := aheadPid(t, &opts)
			_, err := e.CreateContainer(ctx, opts)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("create: %v, want %q", err, tc.err)
			}
			spare.Discard(e)
			assertGone(t, e, spare.ID(), pid)
		})
	}
	t.Run("options changed", func(t *testing.T) {
		opts := engine.ContainerCreateOptions{Image: "busybox", Cmd: []string{"echo", "ran"}, AutoRemove: true, NetworkMode: "host"}
		spare, pid := aheadPid(t, &opts)
		opts.PidsLimit = 50 // not what the init started ahead was made for
		c := ctrCreate(t, e, opts)
		var out bytes.Buffer
		a, err := e.StartAttached(ctx, c.ID, engine.AttachOptions{Stdio: engine.Stdio{Out: &out}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Pid() == pid {
			t.Error("the container took an init started ahead that does not fit")
		}
		if code, err := a.Wait(); err != nil || code != 0 || out.String() != "ran\n" {
			t.Errorf("wait %d %v, output %q", code, err, out.String())
		}
		spare.Discard(e)
		assertGone(t, e, c.ID, pid)
	})
}

// assertGone: no record, no cgroup, no berth parent, the process pid
// (the init started ahead) gone.
func assertGone(t *testing.T, e *engine.Engine, id string, pid int) {
	t.Helper()
	if _, err := e.Container(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("container %s: %v, want not found", id[:12], err)
	}
	for ctrl, dir := range runtime.CgroupFor("", id).Paths() {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("cgroup %s left: %s", ctrl, dir)
		}
	}
	if alive(pid) {
		t.Errorf("the init started ahead, %d, still runs", pid)
	}
}

// BenchmarkRunHostStartedAhead is `berth run --rm --network host busybox
// true` without the CLI, as run does it: the init started ahead
// (StartAhead) while the container is created, then start, wait, removal
// and Discard. BenchmarkRunHost is the same without the init started
// ahead: the difference is what StartAhead saves (with the test binary as
// the init, whose start is slower than berth-init's).
func BenchmarkRunHostStartedAhead(b *testing.B) { benchRunHost(b, true) }

func BenchmarkRunHost(b *testing.B) { benchRunHost(b, false) }

func benchRunHost(b *testing.B, ahead bool) {
	e, _ := ctrEngine(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		opts := engine.ContainerCreateOptions{Image: "busybox", Cmd: []string{"true"}, AutoRemove: true, NetworkMode: "host"}
		var spare *engine.Spare
		if ahead {
			spare = engine.StartAhead(&opts)
		}
		c, err := e.CreateContainer(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		if code, err := e.RunContainer(ctx, c.ID, engine.Stdio{}); code != 0 || err != nil {
			b.Fatal(code, err)
		}
		spare.Discard(e)
	}
}
