package runtime

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestMain routes the re-exec: Start runs this test binary as
// "berth __berth_init", and it must become the container's init.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == InitVerb {
		os.Exit(Init(os.Args[2:]))
	}
	code := m.Run()
	if busyboxRoot != "" {
		os.RemoveAll(filepath.Dir(busyboxRoot))
	}
	// The tests' parent cgroup goes too (each container's is gone already).
	for _, dir := range CgroupFor("berth-test", "x").dirs {
		_ = os.Remove(filepath.Dir(dir))
	}
	os.Exit(code)
}

// busyboxRoot is a root filesystem made of the host's static busybox,
// shared read-only (as an overlay lower dir) by the tests.
var busyboxRoot string

func needBusyboxRoot(t *testing.T) string {
	t.Helper()
	testenv.RequireOverlay(t)
	if busyboxRoot != "" {
		return busyboxRoot
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox on this machine (apt-get install busybox-static)")
	}
	parent, err := os.MkdirTemp("", "berth-runtime-test-")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(parent, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "root", "home/app"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			_ = os.Symlink("busybox", filepath.Join(root, "bin", applet))
		}
	}
	files := map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup, "etc/notes": "image file\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	busyboxRoot = root
	return root
}

func randomID(t testing.TB) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// newSpec makes a container over the busybox root: an overlay with its own
// upper dir, mounted inside the container's mount namespace.
func newSpec(t *testing.T, args ...string) *Spec {
	t.Helper()
	lower := needBusyboxRoot(t)
	dir := t.TempDir()
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { assertNoMounts(t, dir) })
	id := randomID(t)
	t.Cleanup(func() { assertNoCgroups(t, "berth-test", id) })
	return &Spec{
		ID:   id,
		Root: filepath.Join(dir, "merged"),
		RootfsMounts: []Mount{{
			Source: "overlay", Type: "overlay", Dir: dir,
			Data: "lowerdir=" + lower + ",upperdir=upper,workdir=work",
		}},
		Process: Process{
			Args: args,
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		CgroupParent: "berth-test",
	}
}

func assertNoMounts(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), " "+dir) {
		t.Errorf("mounts left under %s:\n%s", dir, data)
	}
}

func assertNoCgroups(t *testing.T, parent, id string) {
	t.Helper()
	c := CgroupFor(parent, id)
	for ctrl, dir := range c.dirs {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s cgroup %s left behind", ctrl, dir)
		}
	}
}

type result struct {
	stdout, stderr string
	status         ExitStatus
}

// run starts spec, waits, and returns its output and status.
func run(t *testing.T, spec *Spec) (result, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c, err := Start(spec, IO{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return result{}, err
	}
	st, err := c.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), st}, nil
}

func mustRun(t *testing.T, spec *Spec) result {
	t.Helper()
	r, err := run(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestContainerIdentity(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "echo $$; hostname; grep -E 'Cap(Eff|Inh|Amb|Bnd)|NoNewPrivs|Seccomp:' /proc/self/status")
	r := mustRun(t, spec)
	want := fmt.Sprintf("1\n%s\nCapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t2\n", spec.ID[:12])
	if r.stdout != want || r.status.Code != 0 {
		t.Errorf("got %q (exit %d, stderr %q), want %q", r.stdout, r.status.Code, r.stderr, want)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		script string
		code   int
		signal syscall.Signal
	}{
		{"exit 0", 0, 0},
		{"exit 3", 3, 0},
		// PID 1 is immune to signals it has no handler for, even SIGKILL,
		// from inside its namespace: as in Docker, this exits 0.
		{"kill -9 $$", 0, 0},
		{"sh -c 'kill -9 $$'; exit $?", 137, 0},
	} {
		r := mustRun(t, newSpec(t, "sh", "-c", tc.script))
		if r.status.Code != tc.code || r.status.Signal != tc.signal {
			t.Errorf("%s: status %+v, want code %d signal %v", tc.script, r.status, tc.code, tc.signal)
		}
	}
}

func TestStartErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		code int
		msg  string
	}{
		{"not found", func(s *Spec) { s.Process.Args = []string{"nosuch"} }, 127, `exec: "nosuch": executable file not found in $PATH`},
		{"missing path", func(s *Spec) { s.Process.Args = []string{"/nosuch"} }, 127, `exec: "/nosuch": stat /nosuch: no such file or directory`},
		{"not executable", func(s *Spec) { s.Process.Args = []string{"/etc/passwd"} }, 126, `exec: "/etc/passwd": permission denied`},
		{"directory", func(s *Spec) { s.Process.Args = []string{"/etc"} }, 126, `exec: "/etc": is a directory`},
		{"unknown user", func(s *Spec) { s.Process.User = "nosuch" }, 125, "unable to find user nosuch: no matching entries in passwd file"},
		{"unknown group", func(s *Spec) { s.Process.User = "app:nosuch" }, 125, "unable to find group nosuch: no matching entries in group file"},
		{"workdir is a file", func(s *Spec) { s.Process.Cwd = "/etc/passwd" }, 125, "Cannot mkdir: /etc/passwd is not a directory"},
		{"unknown capability", func(s *Spec) { s.Security.CapAdd = []string{"NOSUCH"} }, 125, `unknown capability: "NOSUCH"`},
		{"bad network", func(s *Spec) { s.Network = "overlay" }, 125, "network overlay not found"},
		{"prestart fails", func(s *Spec) {
			s.Network = "bridge"
			s.Prestart = func(int) error { return errors.New("no address left") }
		}, 125, "no address left"},
		// Prestart runs while the init builds the container: when the
		// init failed first, its reason is the one to report.
		{"init fails during prestart", func(s *Spec) {
			s.Network = "bridge"
			s.Process.User = "nosuch"
			s.Prestart = func(pid int) error {
				for i := 0; i < 1000 && pidExists(pid); i++ {
					time.Sleep(10 * time.Millisecond)
				}
				return errors.New("network namespace gone")
			}
		}, 125, "unable to find user nosuch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := newSpec(t, "true")
			tc.edit(spec)
			_, err := run(t, spec)
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a StartError", err)
			}
			if se.Code != tc.code || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("got %d %q, want %d %q", se.Code, se.Msg, tc.code, tc.msg)
			}
		})
	}
}

func TestUserAndWorkdir(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "id; echo $HOME; pwd; grep CapEff /proc/self/status")
	spec.Process.User = "app"
	spec.Process.Cwd = "/srv/new/dir"
	r := mustRun(t, spec)
	want := "uid=1000(app) gid=1000(app) groups=29(audio),1000(app)\n/home/app\n/srv/new/dir\nCapEff:\t0000000000000000\n"
	if r.stdout != want {
		t.Errorf("got %q (stderr %q), want %q", r.stdout, r.stderr, want)
	}
	spec = newSpec(t, "id")
	spec.Process.User = "4242:10"
	spec.Process.AdditionalGroups = []string{"audio"}
	if r := mustRun(t, spec); r.stdout != "uid=4242 gid=10(wheel) groups=10(wheel),29(audio)\n" {
		t.Errorf("numeric user: got %q (%q)", r.stdout, r.stderr)
	}
}

func TestPrivilegesAndCaps(t *testing.T) {
	spec := newSpec(t, "grep", "-E", "CapEff|Seccomp:", "/proc/self/status")
	spec.Security.CapDrop = []string{"chown"}
	spec.Security.CapAdd = []string{"CAP_SYS_ADMIN"}
	if r := mustRun(t, spec); r.stdout != "CapEff:\t00000000a82425fa\nSeccomp:\t2\n" {
		t.Errorf("cap-add/drop: got %q", r.stdout)
	}
	spec = newSpec(t, "grep", "-E", "CapEff|Seccomp:", "/proc/self/status")
	spec.Security.Privileged = true
	want := fmt.Sprintf("CapEff:\t%016x\nSeccomp:\t0\n", uint64(allCaps()&hostBounding(t)))
	if r := mustRun(t, spec); r.stdout != want {
		t.Errorf("privileged: got %q, want %q", r.stdout, want)
	}
	spec = newSpec(t, "grep", "NoNewPrivs", "/proc/self/status")
	spec.Security.NoNewPrivileges = true
	if r := mustRun(t, spec); r.stdout != "NoNewPrivs:\t1\n" {
		t.Errorf("no-new-privileges: got %q", r.stdout)
	}
}

func hostBounding(t *testing.T) CapSet {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`CapBnd:\s+([0-9a-f]+)`).FindSubmatch(data)
	n, _ := strconv.ParseUint(string(m[1]), 16, 64)
	return CapSet(n)
}

func TestMaskedAndReadonlyPaths(t *testing.T) {
	spec := newSpec(t, "sh", "-c", `
wc -c < /proc/timer_list
ls /sys/firmware | wc -l
echo 1 > /proc/sys/kernel/domainname && echo wrote
awk '$5=="/sys" || $5=="/proc/sys" {print $5, substr($6,1,2)}' /proc/self/mountinfo
ls -l /dev/null /dev/urandom | cut -c1-10
readlink /dev/fd
readlink /dev/ptmx
`)
	r := mustRun(t, spec)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{"0", "0", "/sys ro", "/proc/sys ro", "crw-rw-rw-", "crw-rw-rw-", "/proc/self/fd", "pts/ptmx"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("got %q (stderr %q), want %q", lines, r.stderr, want)
	}
	if !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("writing /proc/sys: stderr %q", r.stderr)
	}
}

func TestNetworkNone(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ip -o link show lo | grep -o 'state [A-Z]*\\|UP' | head -1")
	spec.Network = "none"
	r := mustRun(t, spec)
	if r.stdout != "lo\nUP\n" {
		t.Errorf("got %q (stderr %q), want only lo, up", r.stdout, r.stderr)
	}
	// Host network: the host's interfaces are there.
	spec = newSpec(t, "sh", "-c", "tail -n +3 /proc/net/dev | wc -l")
	r = mustRun(t, spec)
	host, _ := os.ReadFile("/proc/net/dev")
	if want := strconv.Itoa(strings.Count(string(host), "\n")-2) + "\n"; r.stdout != want {
		t.Errorf("host network: %q interfaces, want %q", r.stdout, want)
	}
}

// Prestart runs before the container's process, with its PID, in a
// network namespace of its own: what it does there (here: a veth pair
// interface, made with ip from the host's side) is what the process sees.
func TestPrestartNetwork(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2")
	}
	spec := newSpec(t, "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort")
	spec.Network = "bridge"
	called := 0
	spec.Prestart = func(pid int) error {
		called = pid
		out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "ip", "link", "add", "pre0", "type", "veth", "peer", "name", "pre1").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	r := mustRun(t, spec)
	if called == 0 {
		t.Fatal("Prestart was not called")
	}
	if r.stdout != "lo\npre0\npre1\n" {
		t.Errorf("got %q (stderr %q), want lo and the prestart's veth pair", r.stdout, r.stderr)
	}
}

// pidExists reports whether a live process (not a zombie) has the PID.
func pidExists(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// Prestart runs while the init builds the container, which may already
// have bound the files Prestart rewrites in place; the process starts only
// once Prestart has returned, and sees what it wrote.
func TestPrestartOverlapsInitButPrecedesProcess(t *testing.T) {
	spec := newSpec(t, "cat", "/etc/hosts")
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Mounts = []Mount{{Source: hosts, Destination: "/etc/hosts", Type: "bind"}}
	spec.Network = "bridge"
	spec.Prestart = func(int) error {
		time.Sleep(200 * time.Millisecond) // let the init bind the file first
		f, err := os.OpenFile(hosts, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString("after\n")
		return err
	}
	if r := mustRun(t, spec); r.stdout != "after\n" || r.status.Code != 0 {
		t.Errorf("got %q (exit %d, stderr %q), want what Prestart wrote", r.stdout, r.status.Code, r.stderr)
	}
}

func TestHostFilesAndUpperDir(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "cat /etc/hostname /etc/notes; echo changed > /etc/notes; touch /made")
	hostname := filepath.Join(t.TempDir(), "hostname")
	if err := os.WriteFile(hostname, []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Mounts = []Mount{{Source: hostname, Destination: "/etc/hostname", Type: "bind"}}
	r := mustRun(t, spec)
	if r.stdout != "from-host\nimage file\n" {
		t.Errorf("got %q (%q)", r.stdout, r.stderr)
	}
	upper := filepath.Join(filepath.Dir(spec.Root), "upper")
	if data, _ := os.ReadFile(filepath.Join(upper, "etc/notes")); string(data) != "changed\n" {
		t.Errorf("upper/etc/notes = %q", data)
	}
	if _, err := os.Stat(filepath.Join(upper, "made")); err != nil {
		t.Errorf("upper/made: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(busyboxRoot, "etc/notes")); string(data) != "image file\n" {
		t.Errorf("lower dir changed: %q", data)
	}
}

// inheritedFd opens / without close-on-exec, as a descriptor berth
// inherited from whoever started it would be, and has the next start treat
// it so. berth marks what it inherited close-on-exec once, at its first
// start (hardenFds); in a test binary an earlier test's start has done that
// already, so the mark is made again, as a fresh berth process would.
func inheritedFd(t *testing.T) {
	t.Helper()
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY, 0) // not close-on-exec
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	hardenOnce = sync.Once{}
}

func TestNoDescriptorLeak(t *testing.T) {
	// A descriptor this process inherited without close-on-exec (here:
	// made so on purpose) must not reach the container.
	inheritedFd(t)
	r := mustRun(t, newSpec(t, "ls", "/proc/self/fd"))
	if r.stdout != "0\n1\n2\n3\n" { // 3 is ls's own directory handle
		t.Errorf("descriptors in the container: %q", r.stdout)
	}
}

func TestMemoryLimit(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "tail /dev/zero")
	spec.Resources.Memory = 16 << 20
	r := mustRun(t, spec)
	if r.status.Code != 137 || r.status.Signal != syscall.SIGKILL || !r.status.OOMKilled {
		t.Errorf("status %+v, want 137 and OOM-killed", r.status)
	}
}

func TestPidsLimit(t *testing.T) {
	// The children outlive the loop (a loaded machine must not let early
	// ones exit and free their pids before the last fork), then are killed.
	spec := newSpec(t, "sh", "-c", "for i in 1 2 3 4 5 6; do sleep 30 & done; kill $(jobs -p) 2>/dev/null; wait")
	spec.Resources.PidsLimit = 4
	r := mustRun(t, spec)
	if !strings.Contains(r.stderr, "can't fork") {
		t.Errorf("stderr %q, want a fork failure", r.stderr)
	}
}

// TestPidsLimitBeforeProcess checks the order of a start: the PID limit
// is in force, in the cgroup the process lives in, when the container's
// first instruction runs (shell built-ins, no fork), with and without
// --init. The container sees its cgroups through a read-only bind mount.
func TestPidsLimitBeforeProcess(t *testing.T) {
	for _, init := range []bool{false, true} {
		t.Run(fmt.Sprintf("init=%v", init), func(t *testing.T) {
			spec := newSpec(t, "sh")
			pidsDir := CgroupFor("berth-test", spec.ID).dirs["pids"]
			if pidsDir == "" {
				t.Skip("no pids cgroup controller on this machine")
			}
			if err := os.MkdirAll(filepath.Dir(pidsDir), 0o755); err != nil {
				t.Fatal(err)
			}
			spec.Process.Args = []string{"sh", "-c", "read max < /cg/" + spec.ID + "/pids.max; echo max=$max; " +
				"while read line; do echo $line; done < /proc/self/cgroup"}
			spec.Mounts = []Mount{{Source: filepath.Dir(pidsDir), Destination: "/cg", Type: "bind", ReadOnly: true}}
			spec.Init = init
			spec.Resources.PidsLimit = 20
			r := mustRun(t, spec)
			// With --init the supervisor's threads get room of their own.
			got, _, _ := strings.Cut(strings.TrimPrefix(r.stdout, "max="), "\n")
			n, err := strconv.Atoi(got)
			if r.status.Code != 0 || err != nil || n < 20 || (!init && n != 20) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want max=20 first", r.status.Code, r.stdout, r.stderr)
			}
			want := regexp.MustCompile(`(?m)^[0-9]+:(|.*,)pids(|,.*):/berth-test/` + spec.ID + `$`)
			if cg := CgroupFor("berth-test", spec.ID); cg.dirs["pids"] == cg.v2 {
				want = regexp.MustCompile(`(?m)^0::/berth-test/` + spec.ID + `$`)
			}
			if !want.MatchString(r.stdout) {
				t.Errorf("/proc/self/cgroup has no line %s:\n%s", want, r.stdout)
			}
		})
	}
}

// TestPidsLimitWithInit: berth's --init supervisor counts as one process,
// as Docker's docker-init: with a limit of 3 the command forks once.
func TestPidsLimitWithInit(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "sleep 30 & echo one; sleep 30 & echo two; kill $(jobs -p)")
	spec.Init = true
	spec.Resources.PidsLimit = 3
	r := mustRun(t, spec)
	if r.stdout != "one\n" || !strings.Contains(r.stderr, "can't fork") {
		t.Errorf("stdout %q, stderr %q; want one fork, then a fork failure", r.stdout, r.stderr)
	}
}

// TestPidsLimitStartError: an init that fails before the PID-limit
// handshake still reports Docker's exit code for the failure.
func TestPidsLimitStartError(t *testing.T) {
	spec := newSpec(t, "no-such-command")
	spec.Resources.PidsLimit = 4
	_, err := Start(spec, IO{})
	var se *StartError
	if !errors.As(err, &se) || se.Code != 127 || !strings.Contains(se.Msg, "no-such-command") {
		t.Fatalf("Start: %v, want a StartError with code 127", err)
	}
}

func TestCgroupLimitsWritten(t *testing.T) {
	spec := newSpec(t, "sleep", "10")
	spec.Resources = Resources{Memory: 64 << 20, PidsLimit: 50, NanoCPUs: 500_000_000}
	c, err := Start(spec, IO{})
	if err != nil {
		t.Fatal(err)
	}
	cg := c.Cgroup()
	read := func(ctrl, file string) string {
		data, err := os.ReadFile(filepath.Join(cg.dirs[ctrl], file))
		if err != nil {
			t.Error(err)
		}
		return strings.TrimSpace(string(data))
	}
	if cg.dirs["memory"] != cg.v2 {
		if got := read("memory", "memory.limit_in_bytes"); got != strconv.Itoa(64<<20) {
			t.Errorf("memory limit %s", got)
		}
		if got := read("cpu", "cpu.cfs_quota_us"); got != "50000" {
			t.Errorf("cpu quota %s", got)
		}
	}
	if got := read("pids", "pids.max"); got != "50" {
		t.Errorf("pids.max %s", got)
	}
	pids, err := cg.Pids()
	if err != nil || len(pids) != 1 || pids[0] != c.Pid {
		t.Errorf("Pids = %v, %v; want [%d]", pids, err, c.Pid)
	}
	_ = c.Signal(syscall.SIGKILL)
	if st, _ := c.Wait(); st.Code != 137 {
		t.Errorf("exit %+v", st)
	}
}

func TestPauseAndExec(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "echo ready > /tmp/ready; exec sleep 30")
	c, err := Start(spec, IO{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = c.Signal(syscall.SIGKILL)
		_, _ = c.Wait()
	}()
	waitFor(t, filepath.Join(filepath.Dir(spec.Root), "upper/tmp/ready"))
	if !ProcessAlive(c.Pid, c.StartTime) {
		t.Fatal("container process not alive")
	}

	cg := CgroupFor(spec.CgroupParent, spec.ID)
	if err := cg.Freeze(); err != nil {
		t.Fatal(err)
	}
	if !cg.Frozen() || procState(t, c.Pid) != "S" && procState(t, c.Pid) != "D" {
		t.Errorf("after Freeze: frozen=%v state=%s", cg.Frozen(), procState(t, c.Pid))
	}
	if err := cg.Thaw(); err != nil {
		t.Fatal(err)
	}
	if cg.Frozen() {
		t.Errorf("still frozen after Thaw")
	}

	espec := &Spec{ID: spec.ID, CgroupParent: spec.CgroupParent, Process: Process{
		Args: []string{"sh", "-c", "echo $$; hostname; cat /tmp/ready; grep CapEff /proc/self/status; pwd"},
		Env:  spec.Process.Env,
		Cwd:  "/tmp",
	}}
	var out, errOut bytes.Buffer
	e, err := Exec(c.Pid, c.StartTime, espec, IO{Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.Wait()
	if err != nil || st.Code != 0 {
		t.Fatalf("exec: %+v %v %q", st, err, errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 5 || lines[0] == "1" || lines[1] != spec.ID[:12] || lines[2] != "ready" ||
		lines[3] != "CapEff:\t00000000a80425fb" || lines[4] != "/tmp" {
		t.Errorf("exec output %q", out.String())
	}
	espec.Process.Args = []string{"nosuch"}
	var se *StartError
	if _, err := Exec(c.Pid, c.StartTime, espec, IO{}); !errors.As(err, &se) || se.Code != 127 {
		t.Errorf("exec of a missing command: %v", err)
	}

	if err := Kill(c.Pid, c.StartTime, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Wait(); st.Code != 137 {
		t.Errorf("exit after kill %+v", st)
	}
	if _, err := Exec(c.Pid, c.StartTime, espec, IO{}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("exec into a stopped container: %v", err)
	}
	if err := Kill(c.Pid, c.StartTime, syscall.SIGKILL); !errors.Is(err, ErrNotRunning) {
		t.Errorf("kill of an exited process: %v", err)
	}
}

// TestContainerOutlivesExitingThreads: goroutines that lock their thread
// and end make Go retire the thread; a container forked from such a thread
// would get its parent-death signal.
func TestContainerOutlivesExitingThreads(t *testing.T) {
	spec := newSpec(t, "sleep", "30")
	c, err := Start(spec, IO{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		done := make(chan struct{})
		go func() {
			goruntime.LockOSThread() // never unlocked: the thread exits with the goroutine
			close(done)
		}()
		<-done
	}
	time.Sleep(50 * time.Millisecond)
	if !ProcessAlive(c.Pid, c.StartTime) {
		t.Errorf("the container died when threads of its parent exited")
	}
	_ = c.Signal(syscall.SIGKILL)
	if st, _ := c.Wait(); st.Code != 137 {
		t.Errorf("exit %+v", st)
	}
}

func procState(t *testing.T, pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	return f[0]
}

func waitFor(t *testing.T, path string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}

func TestInitSupervisor(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "(sleep 0.05 &); sleep 0.3; echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; ps -o stat | grep -c Z; exit 7")
	spec.Init = true
	r := mustRun(t, spec)
	lines := strings.Split(r.stdout, "\n")
	if r.status.Code != 7 || len(lines) < 3 || lines[0] == "1" || lines[1] != ExecName+" "+InitVerb+" " || lines[2] != "0" {
		t.Errorf("status %+v, output %q (stderr %q)", r.status, r.stdout, r.stderr)
	}
}

func TestInitRunsFromSealedBinary(t *testing.T) {
	spec := newSpec(t, "sleep", "10")
	spec.Init = true // PID 1 stays berth: its exe is what a container could reach
	c, err := Start(spec, IO{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = c.Signal(syscall.SIGKILL)
		_, _ = c.Wait()
	}()
	exe := fmt.Sprintf("/proc/%d/exe", c.Pid)
	var st unix.Statfs_t
	if err := unix.Statfs(exe, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.OVERLAYFS_SUPER_MAGIC {
		t.Errorf("init's binary is on filesystem %#x, want the sealed overlay", st.Type)
	}
	f, err := os.OpenFile(exe, os.O_WRONLY, 0)
	if err == nil {
		f.Close()
		t.Fatal("opened the init's binary for writing")
	}
	if !errors.Is(err, unix.EROFS) {
		t.Errorf("open for write: %v, want EROFS", err)
	}
}

func TestTerminal(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "tty; stty size; test -t 0 && echo interactive")
	spec.Process.Tty = true
	spec.Process.ConsoleSize = [2]uint16{33, 111}
	c, err := Start(spec, IO{})
	if err != nil {
		t.Fatal(err)
	}
	console := c.Console()
	if console == nil {
		t.Fatal("no console")
	}
	out, _ := io.ReadAll(console) // EIO once the container's side closes
	console.Close()
	if st, _ := c.Wait(); st.Code != 0 {
		t.Errorf("exit %+v", st)
	}
	if got := strings.ReplaceAll(string(out), "\r\n", "\n"); got != "/dev/pts/0\n33 111\ninteractive\n" {
		t.Errorf("terminal output %q", got)
	}
}

func TestNotRootHasClearError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs only without root")
	}
	if _, err := Start(&Spec{Process: Process{Args: []string{"true"}}}, IO{}); !errors.Is(err, ErrNotRoot) {
		t.Errorf("err = %v, want ErrNotRoot", err)
	}
}

// BenchmarkStartToExit measures a container's life as berth run --rm
// --network host lives it: start (with berth-init, built for the
// benchmark, as the init; the test binary as init is several times
// heavier), `true`, exit, cgroup removal. Besides the time per start it
// reports the CPU time the container's own process (berth-init, then
// true) takes, "child-ms/op", and this process's, "parent-ms/op": CPU time
// is what a busy machine does not blur. Run it alone:
//
//	go test ./engine/runtime -run '^$' -bench StartToExit -benchtime 200x
func BenchmarkStartToExit(b *testing.B) { benchStartToExit(b, false) }

// BenchmarkStartToExitWithSpare is BenchmarkStartToExit with each
// container's init started ahead while the one before runs (a build's RUN
// steps, Spec.SpareNext): the clone, execve and Go start-up leave the path
// when a core is free.
func BenchmarkStartToExitWithSpare(b *testing.B) { benchStartToExit(b, true) }

func benchStartToExit(b *testing.B, spare bool) {
	testenv.RequireOverlay(b)
	lower := benchRoot(b)
	dir := b.TempDir()
	useBuiltInit(b, dir)
	var host []Mount
	for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		host = append(host, Mount{Source: filepath.Join(dir, f), Destination: "/etc/" + f, Type: "bind"})
	}
	specs := make([]*Spec, b.N)
	for i := range specs {
		d := filepath.Join(dir, strconv.Itoa(i))
		for _, s := range []string{"upper", "work", "merged"} {
			if err := os.MkdirAll(filepath.Join(d, s), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		specs[i] = &Spec{
			ID: randomID(b), Root: filepath.Join(d, "merged"), CgroupParent: "berth-test", Network: "host",
			RootfsMounts: []Mount{{Source: "overlay", Type: "overlay", Dir: d, Data: "lowerdir=" + lower + ",upperdir=upper,workdir=work"}},
			Mounts:       host,
			Process:      Process{Args: []string{"true"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		}
		if spare && i > 0 {
			specs[i-1].SpareNext = specs[i].ID
		}
	}
	var self0, child0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &child0)
	b.ResetTimer()
	for _, spec := range specs {
		c, err := Start(spec, IO{Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := c.Wait(); err != nil || st.Code != 0 {
			b.Fatal(st, err)
		}
	}
	b.StopTimer()
	var self1, child1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self1)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &child1)
	cpu := func(r0, r1 syscall.Rusage) float64 {
		ns := r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
		return float64(ns) / 1e6 / float64(b.N)
	}
	b.ReportMetric(cpu(child0, child1), "child-ms/op")
	b.ReportMetric(cpu(self0, self1), "parent-ms/op")
}

// useBuiltInit builds cmd/berth-init into dir and makes it the init for
// the rest of this process (the sealed binary is made once a process).
func useBuiltInit(b *testing.B, dir string) {
	exe := filepath.Join(dir, InitName)
	out, err := exec.Command("go", "build", "-o", exe, "github.com/berthkit/berth/cmd/berth-init").CombinedOutput()
	if err != nil {
		b.Skipf("build berth-init: %v\n%s", err, out)
	}
	initOverride = exe
	sealOnce, sealed, sealErr = sync.Once{}, nil, nil
	sealDone.Store(false)
}

func benchRoot(b *testing.B) string {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		b.Skip("no busybox")
	}
	// An image's root as the engine stacks it: the init layer's mount
	// points exist, so the init creates nothing in the upper dir.
	root := filepath.Join(b.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := WriteInitLayer(root); err != nil {
		b.Fatal(err)
	}
	data, _ := os.ReadFile(bb)
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		b.Fatal(err)
	}
	for name, content := range map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	_ = os.Symlink("busybox", filepath.Join(root, "bin/true"))
	return root
}

// TestNestedPaths: the sealed binary's scratch lower dir must not sit
// inside or above the binary's directory (overlayfs refuses that).
func TestNestedPaths(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"/tmp/berth-exe-1", "/tmp", true},
		{"/tmp", "/tmp/bin", true},
		{"/tmp", "/tmp", true},
		{"/run/berth-exe-1", "/", true},
		{"/run/berth-exe-1", "/usr/local/bin", false},
		{"/tmpx/berth-exe-1", "/tmp", false},
	} {
		if got := nested(tc.a, tc.b); got != tc.want {
			t.Errorf("nested(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	empty, err := scratchDir("/tmp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(empty)
	if nested(empty, "/tmp") {
		t.Errorf("scratchDir(/tmp) = %s, inside /tmp", empty)
	}
}

// TestSealedExeIsReadOnly: the binary the container init runs from cannot
// be opened for writing (CVE-2019-5736), and a binary under the temporary
// directory (as this test's is) gets the overlay, not a memfd copy.
func TestSealedExeIsReadOnly(t *testing.T) {
	testenv.RequireOverlay(t)
	exe, err := sealedExe()
	if err != nil {
		t.Fatal(err)
	}
	if exe.Name() != "berth (sealed)" {
		t.Errorf("sealed binary is %q, want the overlay's read-only view", exe.Name())
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", exe.Fd()), os.O_WRONLY, 0)
	if err == nil {
		f.Close()
		t.Fatal("opened the sealed binary for writing")
	}
}

// TestInitBeside: the init is berth-init beside berth; without it (or when
// that name is not a regular file) berth is its own init.
func TestInitBeside(t *testing.T) {
	dir := t.TempDir()
	berth := filepath.Join(dir, "berth")
	if got := initBeside(berth); got != berth {
		t.Errorf("no berth-init: %q, want berth itself", got)
	}
	if err := os.Mkdir(filepath.Join(dir, InitName), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := initBeside(berth); got != berth {
		t.Errorf("berth-init is a directory: %q, want berth itself", got)
	}
	if err := os.Remove(filepath.Join(dir, InitName)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, InitName), []byte("#!"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := initBeside(berth); got != filepath.Join(dir, InitName) {
		t.Errorf("initBeside = %q; want %s", got, filepath.Join(dir, InitName))
	}
}

// TestEmptyLowerIsDetachedTmpfs: the sealed binary's empty lower layer is
// a tmpfs attached nowhere (no mount table entry, nothing to clean up on
// the host's disk), empty and read-only.
func TestEmptyLowerIsDetachedTmpfs(t *testing.T) {
	empty, cleanup, err := emptyLower("/usr/local/bin")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(empty, "/proc/self/fd/") {
		cleanup()
		t.Fatalf("empty lower is %s, want a detached tmpfs", empty)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(empty, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Errorf("statfs %s: type %#x, %v; want tmpfs", empty, st.Type, err)
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("empty lower holds %v (%v)", entries, err)
	}
	if err := os.Mkdir(filepath.Join(empty, "x"), 0o755); !errors.Is(err, unix.EROFS) {
		t.Errorf("mkdir in the empty lower: %v, want EROFS", err)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	cleanup()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), " - tmpfs tmpfs ro,") && strings.Contains(string(mi), "size=4k") {
		t.Errorf("the empty lower's tmpfs is in the mount table:\n%s", mi)
	}
}

// TestDestroyFrozenCgroup: Destroy of a paused container's cgroup, from a
// process that did not create it (berth rm -f of a paused container),
// thaws it, kills what is inside and removes every directory; a container
// with limits has cgroups in more hierarchies, all of which go.
func TestDestroyFrozenCgroup(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "echo ready > /tmp/ready; exec sleep 30")
	spec.Resources = Resources{Memory: 64 << 20, PidsLimit: 50}
	c, err := Start(spec, IO{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, filepath.Join(filepath.Dir(spec.Root), "upper/tmp/ready"))
	cg := CgroupFor(spec.CgroupParent, spec.ID)
	if err := cg.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := cg.Destroy(); err != nil {
		t.Fatalf("destroy a frozen cgroup with a process inside: %v", err)
	}
	st, err := c.Wait()
	if err != nil || st.Signal != syscall.SIGKILL {
		t.Errorf("container ended with %+v, %v; want killed", st, err)
	}
	for ctrl, dir := range cg.dirs {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s cgroup %s left behind", ctrl, dir)
		}
	}
}

// TestKernelLastCap: the prctl probe finds what /proc says.
func TestKernelLastCap(t *testing.T) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skip(err)
	}
	n, ok := kernelLastCap()
	if want := strings.TrimSpace(string(data)); !ok || strconv.Itoa(n) != want {
		t.Errorf("kernelLastCap() = %d, %v; /proc says %s", n, ok, want)
	}
}

// TestEveryMaskedPathIsMounted: each of Docker's masked paths that this
// kernel has (patterns expanded on the host) is a mount point in the
// container, and each read-only path is mounted read-only.
func TestEveryMaskedPathIsMounted(t *testing.T) {
	spec := newSpec(t, "cat", "/proc/self/mountinfo")
	r := mustRun(t, spec)
	mounts := map[string]string{} // mount point → options
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 5 {
			mounts[f[4]] = f[5]
		}
	}
	checked := 0
	for _, pattern := range MaskedPaths {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			checked++
			if _, ok := mounts[p]; !ok {
				t.Errorf("%s is not masked", p)
			}
		}
	}
	for _, p := range ReadonlyPaths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		checked++
		if opts, ok := mounts[p]; !ok || !strings.HasPrefix(opts, "ro") {
			t.Errorf("%s is mounted %q, want read-only", p, opts)
		}
	}
	if checked < 5 {
		t.Errorf("checked only %d paths: %v", checked, mounts)
	}
}

// TestSeccompDeniesInContainer: the filter the init installs is in force:
// unshare(CLONE_NEWUSER), which needs no capability, is refused by
// Docker's profile (unshare needs CAP_SYS_ADMIN there) and allowed with
// seccomp=unconfined.
func TestSeccompDeniesInContainer(t *testing.T) {
	spec := newSpec(t, "sh", "-c", "unshare -U true && echo allowed")
	r, err := run(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	if r.status.Code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("default profile: exit %d, stdout %q, stderr %q; want unshare refused", r.status.Code, r.stdout, r.stderr)
	}
	spec = newSpec(t, "sh", "-c", "unshare -U true && echo allowed")
	spec.Security.SeccompUnconfined = true
	if r := mustRun(t, spec); r.stdout != "allowed\n" {
		t.Errorf("seccomp=unconfined: stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

// TestEnvIsTheSpecs: the container's process sees exactly the spec's
// environment (and HOME): nothing of the init's own (GOMAXPROCS, the
// re-exec marker) and nothing of the caller's.
func TestEnvIsTheSpecs(t *testing.T) {
	t.Setenv("BERTH_TEST_CALLER_ONLY", "1")
	spec := newSpec(t, "sh", "-c", `cat /proc/1/environ | tr '\0' '\n'`)
	spec.Process.Env = append(spec.Process.Env, "GREETING=hi")
	r := mustRun(t, spec)
	want := spec.Process.Env[0] + "\nGREETING=hi\nHOME=/root\n"
	if r.stdout != want || r.status.Code != 0 {
		t.Errorf("environment %q (exit %d, stderr %q), want %q", r.stdout, r.status.Code, r.stderr, want)
	}
}

// TestVolatileRootfsStartsAgain: a root overlay mounted volatile leaves
// the kernel's mark in its work directory, which refuses the next mount;
// the init clears it and the same file system starts again with what the
// first run wrote.
func TestVolatileRootfsStartsAgain(t *testing.T) {
	spec := newSpec(t, "sh", "-c", `grep -c "^overlay / .*volatile" /proc/mounts; echo x >> /f; wc -c < /f`)
	spec.RootfsMounts[0].Data += ",volatile"
	for run, want := range []string{"1\n2\n", "1\n4\n"} {
		if r := mustRun(t, spec); r.stdout != want || r.status.Code != 0 {
			t.Errorf("run %d: %q (exit %d, stderr %q), want %q", run+1, r.stdout, r.status.Code, r.stderr, want)
		}
		if run == 0 {
			if _, err := os.Stat(filepath.Join(spec.RootfsMounts[0].Dir, "work", "work", "incompat", "volatile")); err != nil {
				t.Logf("no volatile mark after the first run (%v): the second run does not test its removal", err)
			}
		}
	}
}
