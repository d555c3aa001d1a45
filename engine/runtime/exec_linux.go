package runtime

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exec starts spec.Process inside the running container whose PID 1 is
// pid (host PID) and started at start (ProcessStartTime), like docker exec:
// the new process joins the container's namespaces and cgroups and gets
// the identity and privileges spec describes (its Process and Security;
// ID and CgroupParent name the cgroup). The caller waits for it with Wait.
func Exec(pid int, start uint64, spec *Spec, stdio IO) (*Container, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if err := validate(spec); err != nil {
		return nil, err
	}
	probePidfd()
	if !ProcessAlive(pid, start) {
		return nil, ErrNotRunning
	}
	nsDir := "/proc/" + strconv.Itoa(pid) + "/ns/"
	open := func(name string) (*os.File, error) {
		f, err := os.Open(nsDir + name)
		if err != nil {
			return nil, fmt.Errorf("open the container's %s namespace: %w", name, err)
		}
		return f, nil
	}
	mntNS, err := open("mnt")
	if err != nil {
		return nil, err
	}
	defer mntNS.Close()
	var others []*os.File
	defer func() {
		for _, f := range others {
			f.Close()
		}
	}()
	for _, name := range []string{"ipc", "uts", "net", "pid"} {
		f, err := open(name)
		if err != nil {
			return nil, err
		}
		others = append(others, f)
	}
	// Opened the namespaces of the right process? (PIDs are reused.)
	if !ProcessAlive(pid, start) {
		return nil, ErrNotRunning
	}

	type result struct {
		c   *Container
		err error
	}
	done := make(chan result, 1)
	go func() {
		// This thread joins the container's IPC, UTS, network and PID
		// namespaces so that the child it forks is born in them (a PID
		// namespace only applies to children). It is never unlocked: Go
		// retires the thread when the goroutine ends, and no other
		// goroutine ever runs in those namespaces.
		goruntime.LockOSThread()
		for _, f := range others {
			if err := unix.Setns(int(f.Fd()), 0); err != nil {
				done <- result{err: fmt.Errorf("join the container's namespaces: %w", err)}
				return
			}
		}
		// No parent-death signal: this thread ends right after the fork.
		c, err := spawn("exec", spec, stdio, &syscall.SysProcAttr{Setsid: true}, mntNS, CgroupFor(spec.CgroupParent, spec.ID), onThisThread, nil)
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}
