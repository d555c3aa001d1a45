package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/berthkit/berth/internal/plainfile"
	"golang.org/x/sys/unix"
)

// Container is a started container (Start) or a process started in one
// (Exec), seen from the parent: the berth process that started it and
// must Wait for it.
type Container struct {
	// Pid is the host PID of the container's PID 1 (or of the exec'd
	// process).
	Pid int
	// StartTime is the process's start time (see ProcessStartTime).
	StartTime uint64

	cmd     *exec.Cmd
	console *os.File
	pipes   *stdioPipes // nil with a terminal
	exec    bool        // an exec'd process: its pipes may outlive it
	cgroup  *Cgroup
	ownsCg  bool
	// keepParents: Wait leaves the cgroup's parents (Spec.KeepCgroupParents).
	keepParents bool
	// mntNS holds the container's mount namespace (Spec.DeferMountTeardown)
	// until Wait lets it go; mountsGone closes once it is gone.
	mntNS      *os.File
	mountsGone chan struct{}

	waitOnce sync.Once
	status   ExitStatus
	waitErr  error
}

// Console is the master end of the process's terminal when Process.Tty,
// else nil. The caller copies between it and the user's terminal and
// closes it after Wait.
func (c *Container) Console() *os.File { return c.console }

// Cgroup is the container's cgroup.
func (c *Container) Cgroup() *Cgroup { return c.cgroup }

// Signal sends sig to the process.
func (c *Container) Signal(sig syscall.Signal) error {
	if err := c.cmd.Process.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return ErrNotRunning
		}
		return err
	}
	return nil
}

// Wait waits for the process to exit and for its output to be copied
// (an exec'd process's for at most outputGrace more if a background child
// of it still holds its pipes),
// then, for a container, removes its cgroups. It may be called more than
// once; later calls return the first result.
func (c *Container) Wait() (ExitStatus, error) {
	c.waitOnce.Do(func() {
		err := c.cmd.Wait()
		if c.mntNS != nil {
			// The container has exited; its mounts are still held.
			crashpoint.Hit("container.mounts-held")
		}
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			c.waitErr = fmt.Errorf("wait for container process %d: %w", c.Pid, err)
		}
		if c.pipes != nil {
			if err := c.pipes.wait(c.exec); err != nil && c.waitErr == nil {
				c.waitErr = err
			}
		}
		if ps := c.cmd.ProcessState; ps != nil {
			ws := ps.Sys().(syscall.WaitStatus)
			c.status.Code = waitCode(ws)
			if ws.Signaled() {
				c.status.Signal = ws.Signal()
			}
		} else {
			c.status.Code = exitCodeUnknown
		}
		c.releaseMounts()
		if c.ownsCg {
			c.status.OOMKilled = c.cgroup.OOMKilled()
			if err := c.cgroup.destroy(!c.keepParents); err != nil && c.waitErr == nil {
				c.waitErr = err
			}
		}
	})
	return c.status, c.waitErr
}

// holdMounts opens the container's mount namespace so that it outlives
// the container's processes (Spec.DeferMountTeardown). Without it (an
// error opening it) the namespace goes with the exit, as it otherwise
// does: nothing is lost but the overlap.
func (c *Container) holdMounts() {
	f, err := plainfile.Open("/proc/" + strconv.Itoa(c.Pid) + "/ns/mnt")
	if err == nil {
		c.mntNS = f
	}
}

// releaseMounts lets the held mount namespace go, in the background: the
// last reference's close unmounts everything in it.
func (c *Container) releaseMounts() {
	c.mountsGone = make(chan struct{})
	if c.mntNS == nil {
		close(c.mountsGone)
		return
	}
	go func() {
		defer close(c.mountsGone)
		c.mntNS.Close()
	}()
}

// WaitMounts waits until the container's mounts are gone: at once unless
// Spec.DeferMountTeardown held them past the exit Wait returned for. It
// must be called after Wait.
func (c *Container) WaitMounts() {
	if c.mountsGone != nil {
		<-c.mountsGone
	}
}

// Start starts a container: berth re-executes itself (from a sealed copy of
// its binary) into new namespaces, where Init builds the container and
// executes spec.Process as PID 1. Start returns once that execve happened,
// so a command that cannot be found is Start's error (a *StartError with
// Docker's exit code), not an exit status.
func Start(spec *Spec, stdio IO) (*Container, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if err := validate(spec); err != nil {
		return nil, err
	}
	probePidfd()
	s := *spec
	if s.Hostname == "" {
		s.Hostname = shortID(s.ID)
	}
	flags := cloneFlags(&s)
	// The next step's init starts now, not once this container runs: its
	// Go start-up (5 ms of a 10 ms step on a slow VM) then overlaps this
	// container's hand-over and mounts too, not only its command, which
	// for a short RUN is over before it (docs/performance.md, "earlyspare").
	// A start that fails leaves it to the build's DiscardSpare.
	if s.SpareNext != "" {
		prespawn(&s, flags)
	}
	cg := CgroupFor(s.CgroupParent, s.ID)
	// A spare fits only a container whose cgroup it was born in, made
	// with the same resources.
	spare := takeSpare(&s, stdio, flags)
	if spare != nil {
		cg = spare.spareOf.cg // with the directories it made
	} else {
		if err := cg.Create(s.Resources); err != nil {
			_ = cg.Destroy()
			return nil, &StartError{Code: CodeEngine, Msg: err.Error()}
		}
	}
	c, err := spawn("container", &s, stdio, containerAttr(flags), nil, cg, onSpawnerThread, spare)
	if err != nil {
		_ = cg.Destroy()
		return nil, err
	}
	c.ownsCg, c.keepParents = true, s.KeepCgroupParents
	return c, nil
}

// cloneFlags are the namespaces a container gets: its own mount
// namespace always, PID, UTS and IPC unless it shares the host's, network
// with "none".
func cloneFlags(s *Spec) uintptr {
	flags := uintptr(unix.CLONE_NEWNS)
	if !s.HostPID {
		flags |= unix.CLONE_NEWPID
	}
	if !s.HostUTS {
		flags |= unix.CLONE_NEWUTS
	}
	if !s.HostIPC {
		flags |= unix.CLONE_NEWIPC
	}
	if s.Network != "" && s.Network != "host" {
		flags |= unix.CLONE_NEWNET
	}
	return flags
}

func validate(spec *Spec) error {
	if len(spec.Process.Args) == 0 {
		return &StartError{Code: CodeEngine, Msg: "no command specified"}
	}
	if spec.Root != "" && !filepath.IsAbs(spec.Root) {
		return &StartError{Code: CodeEngine, Msg: fmt.Sprintf("container root %q is not an absolute path", spec.Root)}
	}
	if spec.Network != "" && spec.Network != "host" && spec.Network != "none" && spec.Network != "bridge" {
		return &StartError{Code: CodeEngine, Msg: fmt.Sprintf("network %s not found: berth offers host, none and bridge", spec.Network)}
	}
	if _, err := Capabilities(spec.Security); err != nil {
		return &StartError{Code: CodeEngine, Msg: err.Error()}
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// The kernel's parent-death signal (Pdeathsig) fires when the *thread*
// that forked the child exits, not the process. Go retires a thread when a
// goroutine locked to it ends (Exec and snapshot.MountAt do that on
// purpose), and any goroutine may run on the thread that forked a
// container earlier: that would kill the container. So every container is
// forked from one thread that lives as long as the process.
var (
	spawnerOnce sync.Once
	spawnerReqs chan func()
)

// onSpawnerThread runs fn on the spawner thread and waits for it.
func onSpawnerThread(fn func()) {
	spawnerOnce.Do(func() {
		spawnerReqs = make(chan func())
		go func() {
			goruntime.LockOSThread() // never unlocked: the thread must never exit
			for req := range spawnerReqs {
				req()
			}
		}()
	})
	done := make(chan struct{})
	spawnerReqs <- func() {
		defer close(done)
		fn()
	}
	<-done
}

// onThisThread runs fn on the calling goroutine's thread.
func onThisThread(fn func()) { fn() }

// spawn runs the re-exec protocol: start the child with its descriptors
// (or go on with the spare started ahead for it), put it in its cgroup,
// send the spec, and wait for the error pipe to close (execve happened) or
// to carry a StartError (handshake).
func spawn(mode string, spec *Spec, stdio IO, attr *syscall.SysProcAttr, mntNS *os.File, cg *Cgroup, on func(func()), spare *initProc) (*Container, error) {
	filterc := compileFilter(spec.Security) // while the child starts up
	p := spare
	if p == nil {
		var err error
		if p, err = startInitIn(cg, spec.Process.Tty, stdio, attr, mntNS, on); err != nil {
			return nil, err
		}
	}
	defer p.link.close()
	c := &Container{Pid: p.cmd.Process.Pid, cmd: p.cmd, cgroup: cg, pipes: p.pipes, exec: mode == "exec"}
	if p.pipes != nil {
		p.pipes.start(stdio)
	}
	// The start time is the fork's: read it while the init starts up.
	c.StartTime, _ = ProcessStartTime(c.Pid)
	if mode == "container" && spec.DeferMountTeardown {
		c.holdMounts()
	}
	if err := c.handshake(mode, spec, p.link, filterc, p.bornInCg); err != nil {
		c.abort()
		return nil, err
	}
	return c, nil
}

// initProc is a started init that has not been sent its spec yet.
type initProc struct {
	cmd   *exec.Cmd
	link  *initLink
	pipes *stdioPipes // nil with a terminal; the child's ends still open
	// bornInCg: cloned into the cgroup's unified-hierarchy directory.
	bornInCg bool
	spareOf  spareKey // a spare's (spare_linux.go)
}

// startInitIn is startInit with the child born in cg's unified-hierarchy
// cgroup, when there is one: it needs no moving there.
func startInitIn(cg *Cgroup, tty bool, stdio IO, attr *syscall.SysProcAttr, mntNS *os.File, on func(func())) (*initProc, error) {
	var cgDir *os.File
	if cg != nil {
		var err error
		if cgDir, err = cg.OpenV2(); err != nil {
			return nil, err
		}
	}
	if cgDir != nil {
		defer cgDir.Close()
		attr.UseCgroupFD, attr.CgroupFD = true, int(cgDir.Fd())
	}
	p, err := startInit(tty, stdio, attr, mntNS, on)
	if err != nil {
		return nil, err
	}
	p.bornInCg = cgDir != nil
	return p, nil
}

// devNull is /dev/null opened once for reading, the standard input of
// every init started without one (a build's RUN step, a spare): exec.Cmd
// opens (through the poller) and closes /dev/null for each start that
// leaves Stdin nil. It is close-on-exec; a start hands the child its own
// copy as fd 0, and concurrent starts may share it.
var devNull = sync.OnceValues(func() (*os.File, error) {
	return plainfile.Open(os.DevNull)
})

// startInit starts berth-init with the link's descriptors and stdio's
// pipes, on the thread on gives it (see onSpawnerThread). It never hands
// the child anything but those and the sealed berth-init: every other
// descriptor of berth is close-on-exec (hardenFds).
func startInit(tty bool, stdio IO, attr *syscall.SysProcAttr, mntNS *os.File, on func(func())) (*initProc, error) {
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	hardenFds()
	link, err := newInitLink(tty)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{
		Path: "/proc/self/fd/" + strconv.Itoa(fdExe),
		Args: []string{ExecName, InitVerb},
		// The init is short-lived and sequential: one P, and no cgroup
		// probing at Go runtime start-up.
		Env:         []string{"GOMAXPROCS=1", initMarker},
		ExtraFiles:  []*os.File{link.specR, link.errW, exe, link.consoleChild, mntNS},
		SysProcAttr: attr,
	}
	var pipes *stdioPipes
	if !tty {
		if pipes, err = newStdioPipes(stdio); err != nil {
			link.close()
			return nil, err
		}
		pipes.setOn(cmd)
	}
	if cmd.Stdin == nil {
		// The child's fd 0 is /dev/null, as exec.Cmd would make it, from
		// one descriptor kept open rather than one opened per start.
		null, err := devNull()
		if err != nil {
			if pipes != nil {
				pipes.closeAll()
			}
			link.close()
			return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		cmd.Stdin = null
	}
	var startErr error
	on(func() { startErr = cmd.Start() })
	if startErr != nil {
		if pipes != nil {
			pipes.closeAll()
		}
		link.close()
		return nil, fmt.Errorf("start container init: %w", startErr)
	}
	link.closeChildEnds()
	return &initProc{cmd: cmd, link: link, pipes: pipes}, nil
}

var pidfdOnce sync.Once

// probePidfd starts, in the background, the once-a-process work of a
// first start that does not depend on the container, while the caller
// makes the container's cgroup: Go's os package finding out whether pidfds
// work (a throw-away vfork, which every berth run would otherwise wait for
// between the cgroup and the fork; FindProcess runs the same probe), and,
// for a container, sealing berth-init (spawn waits for it).
func probePidfd() {
	pidfdOnce.Do(func() {
		go func() {
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				_ = p.Release()
			}
		}()
		go func() { _, _ = sealedExe() }()
	})
}

// compiledFilter is the seccomp program, or why it could not be made.
type compiledFilter struct {
	prog []unix.SockFilter
	err  error
}

// compileFilter compiles the container's seccomp program in the background.
func compileFilter(sec Security) <-chan compiledFilter {
	filterc := make(chan compiledFilter, 1)
	go func() {
		prog, err := seccompFilter(sec)
		filterc <- compiledFilter{prog, err}
	}()
	return filterc
}

// initLink is the parent's side of the descriptors it shares with the
// init: the spec pipe, the error pipe and, with a terminal, the socket the
// init sends the terminal's master on.
type initLink struct {
	specR, specW                *os.File
	errR, errW                  *os.File
	consoleParent, consoleChild *os.File // nil without a terminal
}

func newInitLink(tty bool) (*initLink, error) {
	l := &initLink{}
	var err error
	if l.specR, l.specW, err = blockingPipe("spec"); err != nil {
		return nil, err
	}
	if l.errR, l.errW, err = blockingPipe("init-status"); err != nil {
		l.close()
		return nil, err
	}
	if tty {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("console socket: %w", err)
		}
		l.consoleParent, l.consoleChild = os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console-child")
	}
	return l, nil
}

// blockingPipe is a pipe whose ends stay in blocking mode, outside Go's
// poller: the link's reads and writes are plain sequential ones that never
// need a deadline or a concurrent Close, and os.Pipe's ends cost three
// system calls each to register with the poller and two more each to be
// made blocking again for the child (and one to unregister at close).
func blockingPipe(name string) (r, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("%s pipe: %w", name, err)
	}
	return os.NewFile(uintptr(fds[0]), name+"-r"), os.NewFile(uintptr(fds[1]), name+"-w"), nil
}

// closeChildEnds closes the ends the child has its own copies of, so that
// the child's exit (or execve) ends the parent's reads.
func (l *initLink) closeChildEnds() {
	for _, f := range []*os.File{l.specR, l.errW, l.consoleChild} {
		if f != nil {
			f.Close()
		}
	}
}

func (l *initLink) close() {
	for _, f := range []*os.File{l.specR, l.specW, l.errR, l.errW, l.consoleParent, l.consoleChild} {
		if f != nil {
			f.Close()
		}
	}
}

// abort kills a child whose start failed and releases what it held.
func (c *Container) abort() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	if c.pipes != nil {
		_ = c.pipes.wait(true)
	}
	if c.console != nil {
		c.console.Close()
	}
	if c.mntNS != nil {
		c.mntNS.Close()
	}
}

// handshake puts the child in its cgroup, sends it the spec and the
// seccomp program, runs Prestart while the init builds the container,
// takes the terminal and waits until the process runs. When the parent has
// work that must be done before the process starts but after the init is
// done (Prestart's network, the PID limit), the init stops just before
// executing it (awaitParent) and the parent lets it go on (releaseAtExec).
func (c *Container) handshake(mode string, spec *Spec, link *initLink, filterc <-chan compiledFilter, bornInCg bool) error {
	if c.cgroup != nil {
		if err := c.cgroup.Add(c.Pid, bornInCg); err != nil {
			return err
		}
	}
	filter := <-filterc
	if filter.err != nil {
		return &StartError{Code: CodeEngine, Msg: filter.err.Error()}
	}
	prestart := mode == "container" && spec.Prestart != nil
	limit := mode == "container" && c.cgroup != nil && spec.Resources.PidsLimit > 0
	await := prestart || limit
	msg := initMessage{Mode: mode, Spec: spec, Filter: encodeFilter(filter.prog), AwaitParent: await}
	if err := writeInitMessage(link.specW, &msg); err != nil {
		return fmt.Errorf("send spec to container init: %w", err)
	}
	if !await {
		link.specW.Close()
	}
	if prestart {
		if err := spec.Prestart(c.Pid); err != nil {
			return c.initFailure(link, &StartError{Code: CodeEngine, Msg: err.Error()})
		}
	}
	if link.consoleParent != nil {
		console, err := recvFd(int(link.consoleParent.Fd()))
		if err != nil && !errors.Is(err, errNoFd) {
			return err
		}
		c.console = console
	}
	var data []byte
	if await {
		var err error
		if data, err = c.releaseAtExec(link, spec, limit); err != nil {
			return err
		}
	}
	// EOF with nothing read: execve closed the pipe, the process runs.
	rest, err := io.ReadAll(link.errR)
	if err != nil {
		return fmt.Errorf("read container init status: %w", err)
	}
	if data = append(data, rest...); len(data) > 0 {
		return initError(data)
	}
	if spec.Process.Tty && c.console == nil {
		return errNoFd
	}
	return nil
}

// initFailure is err, unless the init failed first and said why: Prestart
// ran while the init built the container, and a container that cannot be
// built is the cause to report, not what it did to Prestart.
func (c *Container) initFailure(link *initLink, err error) error {
	_ = c.cmd.Process.Kill()
	if data, _ := io.ReadAll(link.errR); len(data) > 0 && data[0] != initAtExec {
		return initError(data)
	}
	return err
}

// initError decodes the StartError the init sent.
func initError(data []byte) error {
	se := &StartError{}
	if json.Unmarshal(data, se) != nil || se.Msg == "" {
		se = &StartError{Code: CodeEngine, Msg: "container init failed: " + string(data)}
	}
	return se
}

// releaseAtExec waits until the init is about to execute the container's
// process (awaitParent), puts the PID limit in force when limit, and lets
// it go on. When the init failed or died first, it returns what the init
// sent instead, the start of its StartError. The --init supervisor
// (Spec.Init) counts as one process, as Docker's docker-init does: its
// other threads, the Go runtime's, get room of their own.
func (c *Container) releaseAtExec(link *initLink, spec *Spec, limit bool) ([]byte, error) {
	var b [1]byte
	n, err := link.errR.Read(b[:])
	if n == 0 || b[0] != initAtExec {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read container init status: %w", err)
		}
		return b[:n], nil
	}
	if limit {
		pids := spec.Resources.PidsLimit
		if spec.Init {
			if cur, err := c.cgroup.pidsCurrent(); err == nil && cur > 1 {
				pids += cur - 1
			}
		}
		if err := c.cgroup.LimitPids(pids); err != nil {
			return nil, &StartError{Code: CodeEngine, Msg: err.Error()}
		}
	}
	if _, err := io.WriteString(link.specW, initProceed); err != nil {
		return nil, fmt.Errorf("start the container's process: %w", err)
	}
	return nil, link.specW.Close()
}
