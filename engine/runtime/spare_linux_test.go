package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// peekSpare waits for the spare of the container id being started, if
// any, and leaves it in place.
func peekSpare(id string) *initProc {
	p := popSpare(id)
	if p != nil {
		next := make(chan *initProc, 1)
		next <- p
		spares.mu.Lock()
		spares.byID[id] = next
		spares.mu.Unlock()
	}
	return p
}

// sparePid runs spec (which asks for a spare) and returns the spare's PID.
func sparePid(t *testing.T, spec *Spec) int {
	t.Helper()
	t.Cleanup(func() { DiscardSpare(spec.SpareNext) })
	if r := mustRun(t, spec); r.status.Code != 0 {
		t.Fatalf("first container: %+v", r)
	}
	p := peekSpare(spec.SpareNext)
	if p == nil {
		t.Fatal("no spare was started")
	}
	return p.cmd.Process.Pid
}

func cgroupProcs(t *testing.T, parent, id string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(CgroupFor(parent, id).v2, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// A spare is born in its container's cgroup, holds none of the caller's
// descriptors, and becomes that container's init: same PID, its output
// reaches the caller, the process sees the descriptors any container does.
func TestSpareBecomesTheNextContainersInit(t *testing.T) {
	inheritedFd(t)
	next := newSpec(t, "sh", "-c", "echo out; echo err >&2; ls /proc/self/fd")
	first := newSpec(t, "true")
	first.SpareNext = next.ID
	pid := sparePid(t, first)
	if procs := cgroupProcs(t, "berth-test", next.ID); !slices.Equal(procs, []string{strconv.Itoa(pid)}) {
		t.Errorf("the next container's cgroup holds %v, want the spare %d", procs, pid)
	}
	checkSpareFds(t, pid)
	var stdout, stderr bytes.Buffer
	c, err := Start(next, IO{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if c.Pid != pid {
		t.Errorf("the container's init is %d, not the spare %d", c.Pid, pid)
	}
	if st, err := c.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("wait: %+v %v", st, err)
	}
	if stdout.String() != "out\n0\n1\n2\n3\n" || stderr.String() != "err\n" {
		t.Errorf("output %q, errors %q", stdout.String(), stderr.String())
	}
	if peekSpare(next.ID) != nil {
		t.Error("a spare is left after it was taken")
	}
}

// A spare that does not fit its container (other namespaces, other
// resources, input to pass) is killed, reaped and its cgroup made again,
// and the container starts as without one. Another container's Start
// leaves it alone.
func TestSpareThatDoesNotFitIsDiscarded(t *testing.T) {
	cases := map[string]func(next *Spec, stdio *IO){
		"network none": func(next *Spec, _ *IO) { next.Network = "none" },
		"resources":    func(next *Spec, _ *IO) { next.Resources.PidsLimit = 50 },
		"input":        func(_ *Spec, stdio *IO) { stdio.Stdin = strings.NewReader("in\n") },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			next := newSpec(t, "echo", "ran")
			first := newSpec(t, "true")
			first.SpareNext = next.ID
			pid := sparePid(t, first)
			var stdout bytes.Buffer
			stdio := IO{Stdout: &stdout, Stderr: &stdout}
			change(next, &stdio)
			c, err := Start(next, stdio)
			if err != nil {
				t.Fatal(err)
			}
			if c.Pid == pid {
				t.Errorf("the container took a spare that does not fit")
			}
			if st, err := c.Wait(); err != nil || st.Code != 0 || stdout.String() != "ran\n" {
				t.Fatalf("wait: %+v %v %q", st, err, stdout.String())
			}
			if pidExists(pid) {
				t.Errorf("the discarded spare %d still runs", pid)
			}
		})
	}
	t.Run("another container", func(t *testing.T) {
		first := newSpec(t, "true")
		first.SpareNext = randomID(t)
		t.Cleanup(func() { assertNoCgroups(t, "berth-test", first.SpareNext) })
		pid := sparePid(t, first)
		other := newSpec(t, "true")
		if r := mustRun(t, other); r.status.Code != 0 {
			t.Fatalf("other container: %+v", r)
		}
		if p := peekSpare(first.SpareNext); p == nil || p.cmd.Process.Pid != pid || !pidExists(pid) {
			t.Errorf("another container's start touched the spare %d", pid)
		}
	})
}

// DiscardSpare (a build's end) kills and reaps the spare and removes its
// cgroup; a second call has nothing to do.
func TestDiscardSpare(t *testing.T) {
	first := newSpec(t, "true")
	first.SpareNext = randomID(t)
	t.Cleanup(func() { assertNoCgroups(t, "berth-test", first.SpareNext) })
	pid := sparePid(t, first)
	DiscardSpare(first.SpareNext)
	if pidExists(pid) {
		t.Errorf("the spare %d still runs", pid)
	}
	if _, err := os.Stat(CgroupFor("berth-test", first.SpareNext).v2); err == nil {
		t.Errorf("the spare's cgroup is left")
	}
	DiscardSpare(first.SpareNext)
}

// A berth killed with a spare (SIGKILL: no DiscardSpare) leaves no
// process: the spare dies with it. Its empty cgroup, marked as a spare's
// and whose container was never created, is what RemoveStrayCgroups
// removes.
func TestSpareDiesWithBerth(t *testing.T) {
	if os.Getenv("BERTH_SPARE_HELPER") == "1" {
		spareHelper(t)
		return
	}
	needBusyboxRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpareDiesWithBerth$")
	// Its temporary directories (never cleaned: it is killed) go with ours.
	cmd.Env = append(os.Environ(), "BERTH_SPARE_HELPER=1", "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	var id string
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "spare" {
			pid, _ = strconv.Atoi(f[1])
			id = f[2]
			break
		}
	}
	if pid == 0 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("the helper started no spare")
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	// The parent-death signal is sent as the helper dies; the spare, a
	// child of the helper, is reaped by the subreaper or init then.
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		_, _ = unix.Poll(fds, 20000)
		unix.Close(pidfd)
	}
	if pidExists(pid) {
		t.Fatalf("the spare %d outlived the berth that started it", pid)
	}
	// A known container's cgroup, and one no store knows but not a
	// spare's (another store's container about to start), stay.
	known, unmarked := CgroupFor("berth-test", randomID(t)), CgroupFor("berth-test", randomID(t))
	for _, cg := range []*Cgroup{known, unmarked} {
		if err := cg.Create(Resources{}); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cg.Destroy() }()
	}
	RemoveStrayCgroups("berth-test", func(id string) bool { return id == filepath.Base(known.v2) })
	if _, err := os.Stat(CgroupFor("berth-test", id).v2); err == nil {
		t.Errorf("the killed berth's spare cgroup is left")
	}
	for _, cg := range []*Cgroup{known, unmarked} {
		if _, err := os.Stat(cg.v2); err != nil {
			t.Errorf("a cgroup that is not a stray spare's was removed: %v", err)
		}
	}
}

// spareHelper starts a container with a spare, says which, and waits to
// be killed.
func spareHelper(t *testing.T) {
	first := newSpec(t, "true")
	first.SpareNext = randomID(t)
	if r := mustRun(t, first); r.status.Code != 0 {
		t.Fatalf("first container: %+v", r)
	}
	p := peekSpare(first.SpareNext)
	if p == nil {
		t.Fatal("no spare")
	}
	os.Stdout.WriteString("spare " + strconv.Itoa(p.cmd.Process.Pid) + " " + first.SpareNext + "\n")
	select {}
}

// checkSpareFds: a spare holds stdin (/dev/null), its two output pipes,
// the spec and error pipes, and what its own Go runtime opened at start
// (the CPU quota files it reads for GOMAXPROCS) and the sealed berth-init
// on descriptor 5 until it closes it: nothing of the caller's.
func checkSpareFds(t *testing.T, pid int) {
	t.Helper()
	waitForSpecRead(t, pid)
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range fds {
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		n, _ := strconv.Atoi(e.Name())
		switch {
		case n == 0 && target == "/dev/null":
		case n >= 1 && n <= 4 && strings.HasPrefix(target, "pipe:"):
		case n == 5: // the sealed berth-init, until the init closes it
		case n > 5 && strings.HasPrefix(target, "/sys/fs/cgroup/") && strings.Contains(target, "/cpu"):
		default:
			t.Errorf("the spare holds descriptor %d: %s", n, target)
		}
		got = append(got, e.Name())
	}
	if len(got) < 5 || !slices.Equal(got[:5], []string{"0", "1", "2", "3", "4"}) {
		t.Errorf("the spare's descriptors: %v, want 0 to 4 first", got)
	}
}

// waitForSpecRead waits until the spare pid is blocked reading its spec
// (read on descriptor 3, /proc/PID/syscall): before that, its Go runtime
// is still starting and has files of its own open for a moment
// (/proc/self/mountinfo and cgroup, read for GOMAXPROCS), which are not
// what checkSpareFds looks for.
func waitForSpecRead(t *testing.T, pid int) {
	t.Helper()
	path := "/proc/" + strconv.Itoa(pid) + "/syscall"
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(data), fmt.Sprintf("%d 0x3 ", unix.SYS_READ)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the spare %d never blocked reading its spec: %s", pid, data)
		}
		time.Sleep(time.Millisecond)
	}
}
