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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/internal/testenv"
	"github.com/berthkit/berth/trace"
)

// TestMain routes berth's re-executions of itself (this test binary runs
// as "berth __berth_init" and "berth __berth_shim ...").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case runtime.InitVerb:
			os.Exit(runtime.Init(os.Args[2:]))
		case engine.ShimVerb:
			os.Exit(engine.Supervise(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

// ctrRecorder keeps the events an engine emits.
type ctrRecorder struct {
	mu     sync.Mutex
	events []trace.Event
}

func (r *ctrRecorder) Record(ev trace.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *ctrRecorder) types(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		if ev.Container != nil && ev.Container.ID == id {
			out = append(out, string(ev.Type))
		}
	}
	return out
}

// ctrEngine opens an engine on a fresh root holding busybox:latest, and
// checks when the test ends that no mount is left under the root.
func ctrEngine(t testing.TB) (*engine.Engine, *ctrRecorder) {
	t.Helper()
	testenv.RequireOverlay(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs a static busybox (apt-get install busybox-static)")
	}
	root := filepath.Join(t.TempDir(), "root")
	e, err := engine.Open(root, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.BootstrapBusybox(context.Background(), engine.BootstrapBusyboxOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := &ctrRecorder{}
	e.AddRecorder(rec)
	t.Cleanup(func() {
		list, _ := e.ListContainers(context.Background(), true)
		for _, c := range list {
			_ = e.RemoveContainer(context.Background(), c.ID, true)
		}
		data, _ := os.ReadFile("/proc/self/mountinfo")
		if strings.Contains(string(data), root) {
			t.Errorf("mounts left under %s", root)
		}
		e.Close()
	})
	return e, rec
}

func ctrCreate(t testing.TB, e *engine.Engine, opts engine.ContainerCreateOptions) *store.Container {
	t.Helper()
	if opts.Image == "" {
		opts.Image = "busybox"
	}
	c, err := e.CreateContainer(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRunContainerRecordsExit(t *testing.T) {
	e, rec := ctrEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{
		Cmd: []string{"sh", "-c", "echo out; echo err >&2; echo $HOSTNAME $GREETING; exit 3"},
		Env: []string{"GREETING=hello"},
	})
	if c.State.Status != "created" || len(c.ID) != 64 || c.Name == "" || c.Config.Hostname != c.ID[:12] {
		t.Fatalf("created record %+v", c)
	}
	var out, errOut bytes.Buffer
	code, err := e.RunContainer(ctx, c.ID, engine.Stdio{Out: &out, Err: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 || out.String() != "out\n"+c.ID[:12]+" hello\n" || errOut.String() != "err\n" {
		t.Errorf("code %d, out %q, err %q", code, out.String(), errOut.String())
	}
	got, err := e.Container(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State.Status != "exited" || got.State.ExitCode != 3 || !got.State.ExitKnown || got.State.Pid != 0 {
		t.Errorf("state after exit: %+v", got.State)
	}
	// Each line goes back to its stream (the order between the two
	// streams is not kept: they are separate pipes).
	var logOut, logErr bytes.Buffer
	if err := e.ContainerLogs(ctx, c.Name, engine.LogsOptions{Tail: -1}, &logOut, &logErr); err != nil {
		t.Fatal(err)
	}
	if logOut.String() != "out\n"+c.ID[:12]+" hello\n" || logErr.String() != "err\n" {
		t.Errorf("logs %q %q", logOut.String(), logErr.String())
	}
	// A stopped container runs again with start.
	code, err = e.RunContainer(ctx, c.ID, engine.Stdio{})
	if err != nil || code != 3 {
		t.Errorf("second run: %d %v", code, err)
	}
	if err := e.RemoveContainer(ctx, c.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Container(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after rm: %v", err)
	}
	want := "container.create container.start container.exit container.start container.exit container.remove"
	if got := strings.Join(rec.types(c.ID), " "); got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestCreateMergesImageConfig(t *testing.T) {
	e, _ := ctrEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Entrypoint: []string{"echo"}})
	if strings.Join(c.Config.Entrypoint, " ") != "echo" || len(c.Config.Cmd) != 0 {
		t.Errorf("a new entrypoint drops the image's CMD: %+v", c.Config)
	}
	c = ctrCreate(t, e, engine.ContainerCreateOptions{Entrypoint: []string{}, Cmd: []string{"id"}, WorkingDir: "/tmp", User: "nobody"})
	var out bytes.Buffer
	if code, err := e.RunContainer(ctx, c.ID, engine.Stdio{Out: &out}); err != nil || code != 0 {
		t.Fatalf("run: %d %v", code, err)
	}
	if !strings.HasPrefix(out.String(), "uid=65534(nobody)") {
		t.Errorf("id as nobody: %q", out.String())
	}
	_, err := e.CreateContainer(ctx, engine.ContainerCreateOptions{Image: "busybox", Name: c.Name, Cmd: []string{"true"}})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), `The container name "/`+c.Name+`" is already in use`) {
		t.Errorf("name conflict: %v", err)
	}
	_, err = e.CreateContainer(ctx, engine.ContainerCreateOptions{Image: "nosuch", Cmd: []string{"true"}})
	if !errors.Is(err, store.ErrNotFound) || !strings.HasPrefix(err.Error(), "No such image: nosuch:latest") {
		t.Errorf("unknown image: %v", err)
	}
	if _, err := e.CreateContainer(ctx, engine.ContainerCreateOptions{}); err == nil || err.Error() != "No command specified" {
		t.Errorf("scratch without a command: %v", err)
	}
	_, err = e.CreateContainer(ctx, engine.ContainerCreateOptions{Image: "busybox", WorkingDir: "relative", Cmd: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "needs to be an absolute path") {
		t.Errorf("relative workdir: %v", err)
	}
}

func TestStartErrorsKeepDockerCodes(t *testing.T) {
	e, _ := ctrEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"nosuch"}})
	_, err := e.RunContainer(ctx, c.ID, engine.Stdio{})
	var se *runtime.StartError
	if !errors.As(err, &se) || se.Code != 127 || !strings.Contains(se.Msg, `exec: "nosuch": executable file not found in $PATH`) {
		t.Fatalf("err = %v", err)
	}
	got, _ := e.Container(ctx, c.ID)
	if got.State.Status != "created" || got.State.Error == "" {
		t.Errorf("state after failed start: %+v", got.State)
	}
}

func TestDetachedContainer(t *testing.T) {
	e, rec := ctrEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{
		Name: "web", Cmd: []string{"sh", "-c", "echo started; echo oops >&2; exec sleep 60"},
	})
	if err := e.StartContainer(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	got, err := e.Container(ctx, "web")
	if err != nil || got.State.Status != "running" || got.State.Pid == 0 || got.State.Supervisor == os.Getpid() {
		t.Fatalf("after start: %+v %v", got.State, err)
	}
	// Output reaches the log through the supervisor.
	var out, errOut bytes.Buffer
	for i := 0; i < 200 && (out.Len() == 0 || errOut.Len() == 0); i++ {
		out.Reset()
		errOut.Reset()
		_ = e.ContainerLogs(ctx, "web", engine.LogsOptions{Tail: -1}, &out, &errOut)
		time.Sleep(10 * time.Millisecond)
	}
	if out.String() != "started\n" || errOut.String() != "oops\n" {
		t.Errorf("logs: %q %q", out.String(), errOut.String())
	}

	var execOut bytes.Buffer
	p, err := e.ExecContainer(ctx, "web", engine.ExecOptions{Cmd: []string{"sh", "-c", "echo $$ $HOSTNAME; exit 4"}, Stdio: engine.Stdio{Out: &execOut}})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(); code != 4 || err != nil || execOut.String() == "" || strings.HasPrefix(execOut.String(), "1 ") {
		t.Errorf("exec: %d %v %q", code, err, execOut.String())
	}
	titles, procs, err := e.TopContainer(ctx, "web")
	if err != nil || len(titles) != 8 || len(procs) != 1 || procs[0][7] != "sleep 60" {
		t.Errorf("top: %v %v %v", titles, procs, err)
	}

	if err := e.PauseContainer(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Container(ctx, "web"); got.State.Status != "paused" {
		t.Errorf("after pause: %s", got.State.Status)
	}
	if _, err := e.ExecContainer(ctx, "web", engine.ExecOptions{Cmd: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "is paused") {
		t.Errorf("exec into paused: %v", err)
	}
	if err := e.PauseContainer(ctx, "web"); err == nil || !strings.Contains(err.Error(), "already paused") {
		t.Errorf("pause twice: %v", err)
	}
	if err := e.UnpauseContainer(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveContainer(ctx, "web", false); !errors.Is(err, engine.ErrRunning) {
		t.Errorf("rm of a running container: %v", err)
	}
	start := time.Now()
	if err := e.StopContainer(ctx, "web", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("stop took %v", time.Since(start))
	}
	code, err := e.WaitContainer(ctx, "web")
	if err != nil || code != 137 {
		t.Errorf("wait: %d %v", code, err)
	}
	if _, err := e.ExecContainer(ctx, "web", engine.ExecOptions{Cmd: []string{"true"}}); !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("exec into stopped: %v", err)
	}
	if err := e.KillContainer(ctx, "web", "KILL"); !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("kill of stopped: %v", err)
	}
	for ctrl, dir := range runtime.CgroupFor("", c.ID).Paths() {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s cgroup left after stop: %v", ctrl, err)
		}
	}
	removed, _, err := e.PruneContainers(ctx)
	if err != nil || len(removed) != 1 || removed[0] != c.ID {
		t.Errorf("prune: %v %v", removed, err)
	}
	// container.exit is the supervisor's to emit, in its own process.
	want := "container.create container.start container.pause container.unpause container.remove"
	if got := strings.Join(rec.types(c.ID), " "); got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestRecoveryAfterSupervisorDies kills a detached container's supervisor:
// the container dies with it, and the next look at it says so.
func TestRecoveryAfterSupervisorDies(t *testing.T) {
	e, _ := ctrEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"sleep", "60"}})
	if err := e.StartContainer(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := e.Container(ctx, c.ID)
	if err := syscall.Kill(got.State.Supervisor, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500 && runtime.ProcessAlive(got.State.Pid, got.State.PidStart); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	list, err := e.ListContainers(ctx, true)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	st := list[0].State
	if st.Status != "exited" || st.ExitKnown || st.Pid != 0 {
		t.Errorf("recovered state %+v", st)
	}
	if err := e.RemoveContainer(ctx, c.ID, false); err != nil {
		t.Errorf("rm after recovery: %v", err)
	}
}

func TestContainerChanges(t *testing.T) {
	e, _ := ctrEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"sh", "-c", "echo x > /new; rm /etc/group"}})
	if code, err := e.RunContainer(ctx, c.ID, engine.Stdio{}); code != 0 || err != nil {
		t.Fatalf("run: %d %v", code, err)
	}
	changes, err := e.ContainerChanges(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ch := range changes {
		lines = append(lines, ch.String())
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{"C /etc", "D /etc/group", "A /new"} {
		if !strings.Contains(got, want) {
			t.Errorf("changes %q lack %q", got, want)
		}
	}
	// Mount points the runtime needs never show: they live in the init layer.
	if strings.Contains(got, "hosts") || strings.Contains(got, "/proc") || strings.Contains(got, "/dev") {
		t.Errorf("changes show runtime mount points: %q", got)
	}
}

// A --rm container is removed by the Wait that saw it exit, the short way
// (removeExited): its record and directory are gone when Wait returns, its
// cgroups too, the events are the whole life, and once the engine is
// closed nothing is left in tmp/ for the next Open.
func TestAutoRemoveAfterWait(t *testing.T) {
	e, rec := ctrEngine(t)
	ctx := context.Background()
	for _, mode := range []string{"host", "none", "bridge"} {
		c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"sh", "-c", "exit 7"}, AutoRemove: true, NetworkMode: mode})
		code, err := e.RunContainer(ctx, c.ID, engine.Stdio{})
		if err != nil || code != 7 {
			t.Fatalf("%s: run: %d %v", mode, code, err)
		}
		if _, err := e.Container(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: after the run: %v", mode, err)
		}
		if _, err := os.Stat(e.Store.ContainerDir(c.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: container dir: %v", mode, err)
		}
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/unified/berth", c.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: cgroup left: %v", mode, err)
		}
		want := "container.create container.start container.exit container.remove"
		if got := strings.Join(rec.types(c.ID), " "); got != want {
			t.Errorf("%s: events %q, want %q", mode, got, want)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(e.Store.TmpDir())
	if len(left) != 0 {
		t.Errorf("tmp/ after Close: %v", left)
	}
}

// BenchmarkRunTrue is `berth run --rm busybox true` without the CLI:
// create, start, wait, remove.
func BenchmarkRunTrue(b *testing.B) {
	benchContainerLife(b, engine.ContainerCreateOptions{AutoRemove: true}, true)
}

// BenchmarkCreateRemove is a container's bookkeeping without its process:
// create (record, snapshot dirs, /etc files) and remove, on the host
// network, as a build step's container outside its RUN. Issue 18 wants
// everything around a start to cost close to nothing.
func BenchmarkCreateRemove(b *testing.B) {
	benchContainerLife(b, engine.ContainerCreateOptions{NetworkMode: "host", Purpose: "build"}, false)
}

// benchContainerLife creates a busybox `true` container with opts, then
// runs it (with AutoRemove, the run removes it) or removes it.
func benchContainerLife(b *testing.B, opts engine.ContainerCreateOptions, run bool) {
	e, _ := ctrEngine(b)
	ctx := context.Background()
	opts.Image, opts.Cmd = "busybox", []string{"true"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := e.CreateContainer(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		if run {
			if code, err := e.RunContainer(ctx, c.ID, engine.Stdio{}); code != 0 || err != nil {
				b.Fatal(code, err)
			}
		} else if err := e.RemoveContainer(ctx, c.ID, true); err != nil {
			b.Fatal(err)
		}
	}
}

// A build's RUN containers, removed the short way after their exit, see
// their /etc files, leave no container, record or directory, and once the
// engine is closed nothing in tmp/; each has its whole life in the trace.
func TestBuildStepContainersLeaveNothing(t *testing.T) {
	e, rec := ctrEngine(t)
	ctx := context.Background()
	var out bytes.Buffer
	res, err := e.Build(ctx, engine.BuildOptions{
		DockerfileContent: []byte("FROM busybox\nRUN cat /etc/hostname /etc/hosts /etc/resolv.conf\nRUN echo two > /two\nENV A=1\n"),
		Tags:              []string{"steps:latest"}, NoCache: true, Remove: true, Network: "host", Progress: &out,
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	var seen strings.Builder
	rec.mu.Lock()
	for _, ev := range rec.events {
		if ev.Type == trace.Output && ev.Output != nil {
			seen.WriteString(ev.Output.Text)
		}
	}
	rec.mu.Unlock()
	if res == nil || !strings.Contains(seen.String(), "127.0.0.1\tlocalhost") || !strings.Contains(seen.String(), "nameserver ") {
		t.Errorf("the RUN step did not see its /etc files: %q", seen.String())
	}
	all, err := e.Store.Containers()
	if err != nil || len(all) != 0 {
		t.Errorf("containers after the build: %d %v", len(all), err)
	}
	dirs, _ := os.ReadDir(e.Store.ContainersDir())
	if len(dirs) != 0 {
		t.Errorf("container dirs after the build: %v", dirs)
	}
	rec.mu.Lock()
	var runs []string
	for _, ev := range rec.events {
		if ev.Container != nil && ev.Container.Purpose == "build" && ev.Type == trace.ContainerStart {
			runs = append(runs, ev.Container.ID)
		}
	}
	rec.mu.Unlock()
	if len(runs) != 2 {
		t.Fatalf("%d RUN containers started, want 2", len(runs))
	}
	for _, id := range runs {
		want := "container.create container.start container.exit container.remove"
		if got := strings.Join(rec.types(id), " "); got != want {
			t.Errorf("events of %s: %q, want %q", id[:12], got, want)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(e.Store.TmpDir()); len(left) != 0 {
		t.Errorf("tmp/ after Close: %v", left)
	}
}

// A container whose own file system nobody keeps (--rm, a build step's)
// mounts its overlay volatile: its exit does not sync the upper file
// system. One that is kept does not, and runs again after its exit.
func TestVolatileOnlyWhereTheUpperIsDiscarded(t *testing.T) {
	e, _ := ctrEngine(t)
	ctx := context.Background()
	rootOpts := func(opts engine.ContainerCreateOptions) string {
		t.Helper()
		opts.Cmd = []string{"sh", "-c", `grep "^overlay / " /proc/mounts`}
		c := ctrCreate(t, e, opts)
		var out bytes.Buffer
		if code, err := e.RunContainer(ctx, c.ID, engine.Stdio{Out: &out}); err != nil || code != 0 {
			t.Fatalf("%+v: %d %v", opts, code, err)
		}
		return out.String()
	}
	volatile := func(line string) bool {
		return strings.Contains(line, ",volatile") || strings.Contains(line, "fsync=volatile")
	}
	if line := rootOpts(engine.ContainerCreateOptions{AutoRemove: true}); !volatile(line) {
		t.Errorf("--rm container's root: %q, want volatile", line)
	}
	if line := rootOpts(engine.ContainerCreateOptions{Purpose: "build"}); !volatile(line) {
		t.Errorf("build step's root: %q, want volatile", line)
	}
	kept := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"sh", "-c", `grep "^overlay / " /proc/mounts; echo x >> /f; wc -c < /f`}})
	for run := 1; run <= 2; run++ {
		if run == 2 {
			// What a volatile mount leaves (a --rm container whose berth
			// was killed, started again by hand): the kernel refuses the
			// work directory until the mark goes.
			mark := filepath.Join(e.Store.ContainerDir(kept.ID), "work", "work", "incompat", "volatile")
			if err := os.MkdirAll(mark, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if code, err := e.RunContainer(ctx, kept.ID, engine.Stdio{Out: &out}); err != nil || code != 0 {
			t.Fatalf("kept container, run %d: %d %v", run, code, err)
		}
		line, size, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
		if volatile(line) || size != strconv.Itoa(2*run) {
			t.Errorf("kept container, run %d: root %q, /f of %q bytes", run, line, size)
		}
	}
}
