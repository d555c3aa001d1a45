package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"unsafe"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// The child side of the re-exec boundary. The parent (Start, Exec) runs
// berth again as "berth __berth_init" with these descriptors:
const (
	fdSpec    = 3 // read: the initMessage (writeInitMessage), then EOF
	fdErr     = 4 // write: a StartError if setup fails; closed by execve on success
	fdExe     = 5 // the sealed binary the child was executed from
	fdConsole = 6 // unix socket for the terminal's master, when Process.Tty
	fdMntNS   = 7 // exec only: the container's mount namespace
)

// initMessage is what the parent sends on fdSpec.
type initMessage struct {
	// Mode is "container" (set up a new container and exec its process)
	// or "exec" (join a running container and exec a process in it).
	Mode string
	Spec *Spec
	// Filter is the seccomp program (encodeFilter), compiled by the parent
	// while the child starts; empty means no seccomp.
	Filter []byte
	// AwaitParent asks the child to stop just before it executes the
	// container's process (awaitParent) until the parent has done what
	// must precede it: connecting the network (Spec.Prestart), which runs
	// while the child builds the container, and the PID limit, which can
	// be put in force only once berth's own threads are no longer created.
	AwaitParent bool
}

// The handshake before execve: the child writes initAtExec on fdErr when
// it is about to execute the process; the parent does its part, then
// writes initProceed on the spec pipe and closes it.
const (
	initAtExec  = 0 // never the first byte of a StartError's JSON
	initProceed = "go"
)

// initMarker is set in the environment of the re-executed init, so that
// the package's init function recognises it.
const initMarker = "_BERTH_INIT=1"

// init runs the container's init as soon as this package is initialized,
// before the packages that import it. Go initializes a package once its
// imports are, and this one imports little, while berth's binary links
// JSON schema compilers, registry clients and regular expressions whose
// package initializers take tens of milliseconds: the container would pay
// for all of them on every start. Init never returns to the caller here:
// it execs the container's process or exits.
func init() {
	if len(os.Args) > 1 && os.Args[1] == InitVerb && len(os.Environ()) > 0 && os.Environ()[len(os.Environ())-1] == initMarker {
		// Go runs package initializers on the main goroutine locked to the
		// main thread, and this one never returns: the lock Init takes is
		// already held. Taking it again would start the runtime's template
		// thread, a clone on every container start for nothing.
		os.Exit(runInit())
	}
}

// Init is the container side of the re-exec: the CLI calls it, before any
// flag parsing, when berth runs as "berth __berth_init" (args excludes
// that verb). It reads the spec from the parent, builds the container's
// world and replaces itself with the container's process; it returns only
// when that fails (after telling the parent why) or, with Spec.Init, when
// the process it supervises exits.
func Init(args []string) int {
	// Every step below, up to execve, must happen on one thread: mount
	// namespace joins, capability and seccomp changes are per thread, and
	// execve keeps the calling thread's. Never unlocked.
	goruntime.LockOSThread()
	return runInit()
}

// runInit is Init on a goroutine locked to its thread.
func runInit() int {
	// Until execve, hide this process's /proc entries (and its exe) from
	// anything that could look.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	unix.Close(fdExe)
	unix.CloseOnExec(fdErr)
	errPipe := os.NewFile(fdErr, "init-error")

	// What needs no spec is done before reading it: a spare
	// (spare_linux.go) waits for its spec for a whole build step, and
	// this work is then off the step's path.
	lastCap()
	specFile := os.NewFile(fdSpec, "init-spec")
	msg, err := readInitMessage(specFile)
	var gate func() error
	if err == nil && msg.AwaitParent {
		gate = func() error { return awaitParent(errPipe, specFile) }
	} else {
		specFile.Close()
	}
	if err == nil && (msg.Spec == nil || len(msg.Spec.Process.Args) == 0) {
		err = errors.New("no command specified")
	}
	if err != nil {
		return report(errPipe, fmt.Errorf("read container spec: %w", err))
	}
	filter, err := decodeFilter(msg.Filter)
	if err != nil {
		return report(errPipe, err)
	}
	var code int
	if msg.Mode == "exec" {
		err = joinContainer(msg.Spec, filter)
	} else {
		code, err = initContainer(msg.Spec, filter, gate)
	}
	if err != nil {
		return report(errPipe, err)
	}
	return code
}

// awaitParent tells the parent that the container's process is about to
// start and waits until the parent lets it (its network connected, its PID
// limit in force). From then on no thread may be created: berth's own
// threads count against the PID limit until execve ends them.
func awaitParent(errPipe, specFile *os.File) error {
	defer specFile.Close()
	if _, err := errPipe.Write([]byte{initAtExec}); err != nil {
		return fmt.Errorf("tell berth the container is ready: %w", err)
	}
	data, err := io.ReadAll(specFile)
	if err != nil || strings.TrimSpace(string(data)) != initProceed {
		return fmt.Errorf("berth did not let the container's process start (read %q): %v", data, err)
	}
	return nil
}

// report sends err to the parent and returns the exit code it maps to.
func report(errPipe *os.File, err error) int {
	var se *StartError
	if !errors.As(err, &se) {
		se = &StartError{Code: CodeEngine, Msg: err.Error()}
	}
	_ = json.NewEncoder(errPipe).Encode(se)
	errPipe.Close()
	return se.Code
}

// initContainer builds the container: it runs in new mount, PID, UTS, IPC
// (and maybe network) namespaces, as PID 1.
// gate, when not nil, runs just before the process starts (awaitParent).
func initContainer(spec *Spec, filter []unix.SockFilter, gate func() error) (int, error) {
	// Mounts made from here on stay in this namespace: without this the
	// host's shared mounts would propagate them back.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return 0, fmt.Errorf("make mounts private: %w", err)
	}
	if err := mountRootfs(spec); err != nil {
		return 0, err
	}
	if err := mountSystem(spec.Root, spec.Security.Privileged); err != nil {
		return 0, err
	}
	// Volumes first: /etc/hosts and the like land on a volume at /etc,
	// as in Docker.
	if err := volumeMounts(spec.Root, spec.Volumes); err != nil {
		return 0, err
	}
	if err := bindMounts(spec.Root, spec.Mounts); err != nil {
		return 0, err
	}
	if spec.Network != "" && spec.Network != "host" {
		if err := loopbackUp(); err != nil {
			return 0, err
		}
	}
	// In the host's UTS namespace, setting a hostname would rename the host.
	if !spec.HostUTS {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return 0, fmt.Errorf("set hostname: %w", err)
		}
	}
	if err := pivotRoot(spec.Root); err != nil {
		return 0, err
	}
	if !spec.Security.Privileged {
		if err := maskPaths(); err != nil {
			return 0, err
		}
	}
	if spec.ReadonlyRootfs {
		if err := remountReadonly("/"); err != nil {
			return 0, err
		}
	}
	return finish(spec, filter, true, gate)
}

// joinContainer enters a running container's mount namespace; the parent
// already joined the others before forking this process.
func joinContainer(spec *Spec, filter []unix.SockFilter) error {
	// setns into a mount namespace needs a filesystem context (root, cwd)
	// of our own: Go's threads share one.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare filesystem context: %w", err)
	}
	if err := unix.Setns(fdMntNS, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("join the container's mount namespace: %w", err)
	}
	unix.Close(fdMntNS)
	_, err := finish(spec, filter, false, nil)
	return err
}

// finish prepares the process (terminal, user, working directory, the
// executable), drops privileges (with filter, the seccomp program) and
// executes it. gate, when not nil, runs last before the process starts.
func finish(spec *Spec, filter []unix.SockFilter, isInit bool, gate func() error) (int, error) {
	p := spec.Process
	caps, err := Capabilities(spec.Security)
	if err != nil {
		return 0, err
	}
	if len(filter) == 0 && !spec.Security.Privileged && !spec.Security.SeccompUnconfined {
		return 0, errors.New("no seccomp filter was sent for a container that needs one")
	}
	supervise := isInit && spec.Init
	if p.Tty {
		if err := setupTerminal(p, !supervise); err != nil {
			return 0, err
		}
	}
	user, err := ResolveUser("/", p.User, p.AdditionalGroups)
	if err != nil {
		return 0, err
	}
	env := p.Env
	if getenv(env, "HOME") == "" {
		env = append(env[:len(env):len(env)], "HOME="+user.Home)
	}
	if err := enterWorkdir(p.Cwd); err != nil {
		return 0, err
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return 0, &StartError{Code: execErrorCode(err), Msg: fmt.Sprintf("exec: %q: %v", p.Args[0], err)}
	}
	unix.Umask(0o022)
	if err := dropPrivileges(caps, filter, user, spec.Security.NoNewPrivileges); err != nil {
		return 0, err
	}
	if supervise {
		return superviseProcess(path, p, env, gate)
	}
	if gate != nil {
		if err := gate(); err != nil {
			return 0, err
		}
	}
	_ = unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	err = syscall.Exec(path, p.Args, env)
	return 0, &StartError{Code: execErrorCode(err), Msg: fmt.Sprintf("exec: %q: %v", p.Args[0], err)}
}

// setupTerminal allocates the container's terminal, hands its master to
// the parent and makes the slave the process's stdio and, when
// takeControl, its controlling terminal.
func setupTerminal(p Process, takeControl bool) error {
	master, slave, err := openPty()
	if err != nil {
		return err
	}
	defer slave.Close()
	if p.ConsoleSize[0] > 0 && p.ConsoleSize[1] > 0 {
		_ = SetConsoleSize(slave, p.ConsoleSize[0], p.ConsoleSize[1])
	}
	err = sendFd(fdConsole, master)
	master.Close()
	unix.Close(fdConsole)
	if err != nil {
		return fmt.Errorf("send terminal to berth: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return fmt.Errorf("attach terminal: %w", err)
		}
	}
	if takeControl {
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return fmt.Errorf("set controlling terminal: %w", err)
		}
	}
	return nil
}

// enterWorkdir changes into the working directory, resolved inside the
// container's root and created when missing (Docker's WORKDIR does that),
// then checks that the kernel agrees on where we are: a working directory
// reached through a leaked host descriptor (CVE-2024-21626) would not be
// under /.
func enterWorkdir(cwd string) error {
	if cwd == "" {
		cwd = "/"
	}
	p, err := securejoin.SecureJoin("/", cwd)
	if err != nil {
		return fmt.Errorf("resolve working directory %s: %w", cwd, err)
	}
	notDir := startErrorf(CodeEngine, "Cannot mkdir: %s is not a directory", cwd)
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		if err := os.MkdirAll(p, 0o755); err != nil {
			if errors.Is(err, syscall.ENOTDIR) {
				return notDir
			}
			return fmt.Errorf("create working directory %s: %w", cwd, err)
		}
	case err != nil:
		return fmt.Errorf("working directory %s: %w", cwd, err)
	case !st.IsDir():
		return notDir
	}
	if err := unix.Chdir(p); err != nil {
		return fmt.Errorf("chdir to cwd (%q) set in config.json failed: %w", cwd, err)
	}
	wd, err := unix.Getwd()
	if err != nil || wd != p {
		return errors.New("current working directory is outside of container mount namespace root -- possible container breakout detected")
	}
	return nil
}

// lookPath finds file as execvp does, in the PATH of the container's
// environment, inside the container.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := findExecutable(file); err != nil {
			return "", err
		}
		return file, nil
	}
	for _, dir := range filepath.SplitList(getenv(env, "PATH")) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if findExecutable(p) == nil {
			if !strings.Contains(p, "/") {
				p = "./" + p
			}
			return p, nil
		}
	}
	return "", errExecNotFound
}

func findExecutable(file string) error {
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return syscall.EISDIR
	}
	if st.Mode().Perm()&0o111 == 0 {
		return syscall.EACCES
	}
	return nil
}

func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// dropPrivileges gives this thread the container's identity: capability
// bounding set, seccomp filter, user and groups, effective and permitted
// capabilities, no inheritable or ambient ones. Identity changes use raw
// per-thread syscalls: this thread is the one that calls execve, and the
// new program keeps only its credentials.
func dropPrivileges(caps CapSet, filter []unix.SockFilter, u *ExecUser, noNewPrivs bool) error {
	for c := 0; c <= lastCap(); c++ {
		if caps.Has(c) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop capability %s from the bounding set: %w", capName(c), err)
		}
	}
	// Without no_new_privs, installing a filter takes CAP_SYS_ADMIN, which
	// is about to go: install it first. Docker's profile allows the
	// syscalls that follow.
	if filter != nil && !noNewPrivs {
		if err := loadSeccomp(filter); err != nil {
			return err
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("keep capabilities: %w", err)
	}
	var groups unsafe.Pointer
	if len(u.Groups) > 0 {
		groups = unsafe.Pointer(&u.Groups[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(u.Groups)), uintptr(groups), 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setuid %d: %w", u.UID, e)
	}
	goruntime.KeepAlive(u.Groups)
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("reset keep capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var have [2]unix.CapUserData
	if err := unix.Capget(&hdr, &have[0]); err != nil {
		return fmt.Errorf("get capabilities: %w", err)
	}
	// A privileged container gets every capability berth itself has.
	caps &= CapSet(have[0].Permitted) | CapSet(have[1].Permitted)<<32
	data := [2]unix.CapUserData{
		{Effective: uint32(caps), Permitted: uint32(caps)},
		{Effective: uint32(caps >> 32), Permitted: uint32(caps >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if noNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
		if err := loadSeccomp(filter); err != nil {
			return err
		}
	}
	return nil
}

// forwardedSignals are passed on by the --init supervisor to its child.
var forwardedSignals = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1,
	syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGALRM, syscall.SIGCONT, syscall.SIGTSTP,
	syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPWR,
}

// superviseProcess is the --init mode of PID 1: start the process (from
// this thread, so it inherits the identity just set), forward signals to
// it, reap every zombie in the container, and exit as the process did.
// gate, when not nil, runs just before the fork, once the threads the
// supervisor needs (signal handling) exist: the PID limit counts them.
func superviseProcess(path string, p Process, env []string, gate func() error) (int, error) {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, forwardedSignals...)
	// Not PID 1 in the host's PID namespace (--pid host): orphans come
	// here to be reaped only as a subreaper.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: p.Tty, Ctty: 0},
	}
	if gate != nil {
		if err := gate(); err != nil {
			return 0, err
		}
	}
	pid, err := syscall.ForkExec(path, p.Args, attr)
	if err != nil {
		return 0, &StartError{Code: execErrorCode(err), Msg: fmt.Sprintf("exec: %q: %v", p.Args[0], err)}
	}
	// Started: closing the error pipe tells the parent so.
	unix.Close(fdErr)
	_ = unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	go func() {
		for s := range sigs {
			_ = syscall.Kill(pid, s.(syscall.Signal))
		}
	}()
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return exitCodeUnknown, nil
		}
		if wpid == pid {
			return waitCode(ws), nil
		}
	}
}

// waitCode is a shell's view of a wait status.
func waitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
