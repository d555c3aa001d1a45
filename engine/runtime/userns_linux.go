package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/berthkit/berth/internal/userns"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Rootless mode, as rootless Podman and Buildah do it: a berth started by a
// normal user re-executes itself in a user namespace (and a mount namespace
// of its own) where it is root: container UID 0 is the user, 1..N are the
// user's subordinate IDs from /etc/subuid and /etc/subgid, mapped by the
// setuid helpers newuidmap/newgidmap (Debian's uidmap package). The whole
// engine runs there unchanged: files it writes carry the IDs the container
// sees, so a layer diffed in the namespace is the same as one diffed as
// real root.
//
// The re-execution has two stages. The first child is cloned into the new
// namespaces while its IDs are still unmapped; the parent then runs
// newuidmap/newgidmap on it and tells it to go on; the child executes berth
// again, which, now UID 0 in the namespace, gets the namespace's full
// capabilities (an execve by an unmapped UID would have dropped them).

const (
	// stageEnv marks the re-executed berth: "1" waits for its ID maps,
	// "2" is the engine running inside the namespace.
	stageEnv = "_BERTH_USERNS_STAGE"
	// RootlessEnv is set inside the namespace to how IDs are mapped
	// ("subid" or "single"), for `berth info` and the lessons.
	RootlessEnv = "BERTH_ROOTLESS"
	// noRootlessEnv=1 keeps berth out of the namespace (it then behaves as
	// a plain unprivileged process: replay, or "needs root" errors).
	noRootlessEnv = "BERTH_NO_ROOTLESS"
	// containerIDs is how many IDs the namespace maps at most: 0 for the
	// user, then 65536 subordinate IDs (as Podman's default).
	containerIDs = 65536
)

// IDRange is one line of /etc/subuid or /etc/subgid: Count IDs from Start.
type IDRange struct {
	Start, Count int
}

// ErrNoSubIDs says the user has no subordinate ID range.
var ErrNoSubIDs = errors.New("no subordinate ID range")

// SubIDs returns the first range in file (/etc/subuid or /etc/subgid)
// belonging to name or uid ("name:start:count" lines).
func SubIDs(file, name string, id int) (IDRange, error) {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return IDRange{}, fmt.Errorf("%s: %w", file, ErrNoSubIDs)
		}
		return IDRange{}, err
	}
	defer f.Close()
	return parseSubIDs(f, file, name, id)
}

func parseSubIDs(r io.Reader, file, name string, id int) (IDRange, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(id)) {
			continue
		}
		start, err1 := strconv.Atoi(f[1])
		count, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || start < 0 || count <= 0 {
			return IDRange{}, fmt.Errorf("%s: bad line %q: want name:start:count", file, line)
		}
		return IDRange{Start: start, Count: count}, nil
	}
	if err := sc.Err(); err != nil {
		return IDRange{}, fmt.Errorf("read %s: %w", file, err)
	}
	return IDRange{}, fmt.Errorf("%s has no line for %s: %w", file, name, ErrNoSubIDs)
}

// IDMapPlan is how a rootless berth maps IDs, decided before it re-executes.
type IDMapPlan struct {
	UID, GID int
	// SubUID, SubGID are the subordinate ranges; zero Count means a
	// single-ID mapping (only the user as root).
	SubUID, SubGID IDRange
	// Why says why a single-ID mapping is used, "" with ranges.
	Why string
}

// Single reports a single-ID mapping.
func (p IDMapPlan) Single() bool { return p.SubUID.Count == 0 || p.SubGID.Count == 0 }

// PlanIDMap decides the mapping for the calling user.
func PlanIDMap() IDMapPlan {
	p := IDMapPlan{UID: os.Getuid(), GID: os.Getgid()}
	name := strconv.Itoa(p.UID)
	if n, ok := passwdName(p.UID); ok {
		name = n
	}
	su, err1 := SubIDs("/etc/subuid", name, p.UID)
	sg, err2 := SubIDs("/etc/subgid", name, p.UID)
	_, err3 := exec.LookPath("newuidmap")
	_, err4 := exec.LookPath("newgidmap")
	switch {
	case err1 != nil:
		p.Why = err1.Error()
	case err2 != nil:
		p.Why = err2.Error()
	case err3 != nil || err4 != nil:
		p.Why = "newuidmap/newgidmap not found (install the uidmap package)"
	default:
		su.Count = min(su.Count, containerIDs)
		sg.Count = min(sg.Count, containerIDs)
		p.SubUID, p.SubGID = su, sg
	}
	return p
}

// InUserNS reports whether this process runs in a user namespace other
// than the host's (its UID map is not the identity of all IDs). It is read
// once (userns.Inside): a berth process never changes its own user
// namespace, it starts its children in new ones, and a RUN step asks it to
// know whether to start the next step's spare.
func InUserNS() bool { return userns.Inside() }

// Rootless reports whether berth runs as the root of its own user
// namespace (rootless mode), and how IDs are mapped ("subid", "single").
func Rootless() (bool, string) {
	m := os.Getenv(RootlessEnv)
	if m == "" || os.Geteuid() != 0 || !InUserNS() {
		return false, ""
	}
	return true, m
}

// RootlessDisabled reports BERTH_NO_ROOTLESS=1.
func RootlessDisabled() bool { return os.Getenv(noRootlessEnv) == "1" }

// EnterRootless runs berth (args without the program name) in rootless
// mode when the caller is not root: it returns the exit code of the
// re-executed berth and true, or false when berth should go on as it is
// (root, already inside, or rootless disabled). warn receives one line
// about a single-ID mapping.
func EnterRootless(args []string, warn io.Writer) (int, bool) {
	switch os.Getenv(stageEnv) {
	case "1":
		return stageOne(args), true
	case "2":
		os.Unsetenv(stageEnv)
		if len(args) == 1 && args[0] == pauseVerb {
			return pause(), true
		}
		return 0, false
	}
	if os.Geteuid() == 0 || RootlessDisabled() {
		return 0, false
	}
	plan := PlanIDMap()
	if plan.Single() && !pauseRunning() {
		// Said once, when the namespaces are made.
		fmt.Fprintf(warn, "WARNING: rootless with only your own ID mapped (%s): files owned by other users cannot be made, so steps like apt-get that change owners fail; add a range to /etc/subuid and /etc/subgid (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)\n", plan.Why, userName(plan.UID))
	}
	code, err := enter(args, plan)
	var startErr *userNSStartError
	if errors.As(err, &startErr) {
		// No user namespaces here: go on unprivileged (replay, or a
		// "needs root" error), saying why in `berth info`.
		os.Setenv(unavailableEnv, startErr.Error())
		return 0, false
	}
	if err != nil {
		fmt.Fprintf(warn, "Error: rootless mode: %v\n", err)
		return 125, true
	}
	return code, true
}

// unavailableEnv carries why rootless mode could not start.
const unavailableEnv = "_BERTH_ROOTLESS_UNAVAILABLE"

// RootlessUnavailable says why this unprivileged berth is not in rootless
// mode, "" when it is (or runs as root).
func RootlessUnavailable() string {
	if RootlessDisabled() {
		return noRootlessEnv + "=1 is set"
	}
	return os.Getenv(unavailableEnv)
}

type userNSStartError struct{ err error }

func (e *userNSStartError) Error() string {
	return fmt.Sprintf("this system refuses to make a user namespace (%v): check kernel.unprivileged_userns_clone and user.max_user_namespaces", e.err)
}

func userName(uid int) string {
	if n, ok := passwdName(uid); ok {
		return n
	}
	return strconv.Itoa(uid)
}

// passwdName is uid's name in /etc/passwd, as os/user finds it in the
// static build. The runtime does not import os/user: with cgo available it
// makes every binary that links this package, berth-init among them, a
// dynamically linked cgo program, whose loader and cgo start-up every
// container start would pay for.
func passwdName(uid int) (string, bool) {
	entries, err := readPasswd("/etc/passwd")
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if int(e.uid) == uid {
			return e.name, true
		}
	}
	return "", false
}

// pauseVerb is the re-executed berth that only holds the namespaces.
const pauseVerb = "_rootless-pause"

// enter runs berth with args inside the user's rootless namespaces,
// starting their holder first if none runs: every berth of the user joins
// the same namespaces, as Podman's pause process does, so a berth can exec
// into, stop or commit a container another berth started.
func enter(args []string, plan IDMapPlan) (int, error) {
	holder, err := ensurePause(plan)
	if err != nil {
		return 0, err
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = "/"
	}
	mode := "subid"
	if plan.Single() {
		mode = "single"
	}
	// nsenter (util-linux) joins the user namespace, which a Go program,
	// being multithreaded, cannot do itself; it becomes UID 0 there.
	flags := []string{"--user", "--mount", "--target", strconv.Itoa(holder), "--wd=" + wd}
	if plan.Single() {
		// setgroups(2) is denied with a single-ID map; the user's ID is
		// already UID 0 there.
		flags = append(flags, "--preserve-credentials")
	}
	cmd := exec.Command("nsenter", append(append(flags, "--", exe), args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), stageEnv+"=2", RootlessEnv+"="+mode)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("nsenter (util-linux): %w", err)
	}
	done := make(chan struct{})
	go forwardSignals(sigs, cmd.Process, done)
	err = cmd.Wait()
	close(done)
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err != nil && !ok {
		return 0, err
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// ensurePause returns the PID of the process holding the user's rootless
// namespaces, starting it when none runs.
func ensurePause(plan IDMapPlan) (int, error) {
	dir, err := runtimeDir()
	if err != nil {
		return 0, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "rootless.lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return 0, err
	}
	pidFile := filepath.Join(dir, "rootless.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && isPause(pid) {
			return pid, nil
		}
	}
	pid, err := startPause(plan)
	if err != nil {
		return 0, err
	}
	return pid, os.WriteFile(pidFile, []byte(strconv.Itoa(pid)), 0o600)
}

// pauseRunning reports whether the user's namespaces exist already.
func pauseRunning() bool {
	dir, err := runtimeDir()
	if err != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, "rootless.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && isPause(pid)
}

// runtimeDir is $XDG_RUNTIME_DIR/berth, or /tmp/berth-<uid>; it must be
// the user's own.
func runtimeDir() (string, error) {
	dir := filepath.Join("/tmp", "berth-"+strconv.Itoa(os.Getuid())) // as Podman, when XDG_RUNTIME_DIR is unset
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		dir = filepath.Join(x, "berth")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return "", err
	}
	if int(st.Uid) != os.Getuid() || st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o077 != 0 {
		return "", fmt.Errorf("%s is not a private directory of yours: remove it, or set XDG_RUNTIME_DIR", dir)
	}
	return dir, nil
}

// isPause reports whether pid is the user's namespace holder (not a
// recycled PID).
func isPause(pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), pauseVerb) {
		return false
	}
	var st unix.Stat_t
	return unix.Stat("/proc/"+strconv.Itoa(pid), &st) == nil && int(st.Uid) == os.Getuid()
}

// startPause starts the namespace holder: cloned into a new user and
// mount namespace, its IDs mapped, then left running on its own.
func startPause(plan IDMapPlan) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	defer w.Close()
	attr := &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS, Setsid: true}
	if plan.Single() {
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: plan.UID, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: plan.GID, Size: 1}}
	}
	cmd := exec.Command("/proc/self/exe", pauseVerb)
	cmd.Args[0] = os.Args[0]
	cmd.ExtraFiles = []*os.File{r}
	cmd.Env = append(os.Environ(), stageEnv+"=1")
	cmd.Dir = "/"
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return 0, &userNSStartError{err}
	}
	r.Close()
	pid := cmd.Process.Pid
	if !plan.Single() {
		if err := writeIDMaps(pid, plan); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return 0, err
		}
	}
	if _, err := w.Write([]byte{1}); err != nil {
		return 0, err
	}
	go func() { _ = cmd.Wait() }() // reaped if it ends while berth runs
	return pid, nil
}

// pause holds the namespaces until killed.
func pause() int {
	signal.Ignore(unix.SIGINT, unix.SIGHUP, unix.SIGPIPE, unix.SIGQUIT)
	for {
		_ = unix.Pause()
	}
}

// forwardSignals passes signals on to the namespaced berth. A Ctrl-C at
// the terminal reaches both processes already (same process group), so
// SIGINT is forwarded only when berth is not the terminal's foreground.
func forwardSignals(sigs <-chan os.Signal, p *os.Process, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			if s == unix.SIGINT && terminalForeground() {
				continue
			}
			_ = p.Signal(s)
		}
	}
}

func terminalForeground() bool {
	pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// writeIDMaps maps pid's IDs: 0 to the user, 1..Count to the subordinate
// range, through the setuid helpers (only they may map other IDs).
func writeIDMaps(pid int, plan IDMapPlan) error {
	p := strconv.Itoa(pid)
	for _, m := range []struct {
		tool string
		id   int
		sub  IDRange
	}{{"newuidmap", plan.UID, plan.SubUID}, {"newgidmap", plan.GID, plan.SubGID}} {
		out, err := exec.Command(m.tool, p, "0", strconv.Itoa(m.id), "1",
			"1", strconv.Itoa(m.sub.Start), strconv.Itoa(m.sub.Count)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s (check /etc/subuid and /etc/subgid, or set BERTH_NO_ROOTLESS=1)", m.tool, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// stageOne waits until the parent mapped its IDs, then executes berth
// again so that it starts as UID 0 of the namespace with its capabilities.
func stageOne(args []string) int {
	sync := os.NewFile(3, "userns-sync")
	b := make([]byte, 1)
	n, _ := sync.Read(b)
	sync.Close()
	if n != 1 {
		return 125 // the parent failed and said why
	}
	os.Setenv(stageEnv, "2")
	err := syscall.Exec("/proc/self/exe", append([]string{os.Args[0]}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "Error: rootless mode: re-execute berth: %v\n", err)
	return 125
}
