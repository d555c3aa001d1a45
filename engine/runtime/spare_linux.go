package runtime

import (
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"syscall"

	"github.com/berthkit/berth/internal/crashpoint"
	"golang.org/x/sys/unix"
)

// A spare is a container's init started ahead of the container: a build's
// next RUN step (Spec.SpareNext) has its clone, berth-init's execve and the
// init's Go runtime start run while the current step starts and runs, and
// `berth run`'s container (StartSpare) has them run while berth creates
// the container; the spare then blocks reading its spec until the Start
// of its container takes it.
//
// What the spare is made with is what the container would get, else Start
// discards it and clones as usual:
//   - its cgroup: the one of the container ID chosen ahead, made with the
//     current container's resources, the spare born in it (CLONE_INTO_CGROUP;
//     moving a process there later takes the cgroup threadgroup lock, whose
//     RCU grace period cost more than the spare saved). No container record
//     exists yet: `ps -a` and the trace know nothing of it until the
//     container is created; a spare discarded takes its cgroup along, and
//     one left by a killed berth (marked as a spare's) is removed by
//     RemoveStrayCgroups;
//   - the namespaces (the clone flags: network none or bridge adds a
//     network namespace, host does not);
//   - the init link's pipes without a terminal, and output pipes for
//     stdout and stderr, no input: a container with a terminal or input
//     does not take it;
//   - not in a user namespace (rootless): not started ahead.
//
// It gets only the link, its own output pipes and the sealed berth-init
// (startInit), as any init does. It dies with berth: by the parent-death
// signal (sent when the spawner thread, which lives as long as the
// process, dies), and failing that by EOF on its spec pipe, whose only
// writer is berth.
var spares struct {
	mu sync.Mutex
	// byID carries each spare being started, or ready, by the ID of the
	// container it is for: a process (the daemon) may run several builds.
	byID map[string]chan *initProc
}

// spareKey is what a spare was made for.
type spareKey struct {
	id, parent string
	res        Resources
	flags      uintptr
	cg         *Cgroup
}

// spareStdio is the shape of a spare's standard streams: output pipes, no
// input. The writers are the container's, set when Start takes it.
var spareStdio = IO{Stdout: io.Discard, Stderr: io.Discard}

// prespawn starts, in the background, the spare of the container with ID
// s.SpareNext, cloned with flags, unless it has one already.
func prespawn(s *Spec, flags uintptr) {
	if InUserNS() {
		return
	}
	key := spareKey{id: s.SpareNext, parent: s.CgroupParent, res: s.Resources, flags: flags}
	spares.mu.Lock()
	defer spares.mu.Unlock()
	if _, ok := spares.byID[key.id]; ok {
		return
	}
	if spares.byID == nil {
		spares.byID = map[string]chan *initProc{}
	}
	next := make(chan *initProc, 1)
	spares.byID[key.id] = next
	go func() { next <- startSpare(key) }()
}

// startSpare makes the spare's cgroup and starts the spare in it; nil when
// either fails (the container clones as usual then).
func startSpare(key spareKey) *initProc {
	key.cg = CgroupFor(key.parent, key.id)
	if err := key.cg.Create(key.res); err != nil {
		_ = key.cg.destroy(false)
		return nil
	}
	// Marked, so that RemoveStrayCgroups knows it for a spare's once its
	// berth is gone (and leaves any other cgroup alone); without a
	// unified hierarchy to be born in, no spare.
	if key.cg.v2 == "" || unix.Setxattr(key.cg.v2, spareXattr, []byte("1"), 0) != nil {
		_ = key.cg.destroy(false)
		return nil
	}
	p, err := startInitIn(key.cg, false, spareStdio, containerAttr(key.flags), nil, onSpawnerThread)
	if err != nil {
		_ = key.cg.destroy(false)
		return nil
	}
	p.spareOf = key
	// A berth killed here leaves a spare that dies with it and its empty,
	// marked cgroup (RemoveStrayCgroups).
	crashpoint.Hit("spare.started")
	return p
}

// StartSpare starts, in the background, the init of the container s
// describes before that container exists (`berth run`: its ID is chosen
// first): its cgroup (s's resources, marked as a spare's), the clone with
// s's namespaces, the execve and the init's Go runtime start run on the
// other core while berth looks the image up, writes the record and claims
// the name. Start(s) takes it when it fits, as it takes a build's next
// step's (Spec.SpareNext). Only ID, Network, HostPID, HostUTS, HostIPC,
// CgroupParent and Resources of s are read. The caller must call
// DiscardSpare(s.ID) once the container has started or will not be: it
// kills a spare nobody took. Not root, or rootless: nothing is started.
func StartSpare(s *Spec) {
	if s.ID == "" || os.Geteuid() != 0 || InUserNS() {
		return
	}
	// The spare's own start seals berth-init and probes pidfd support (in
	// its cmd.Start) on its one goroutine, first thing: Start's background
	// probes (probePidfd) would only compete with it for the second core
	// while this process creates the container on the first.
	pidfdOnce.Do(func() {})
	ahead := *s
	ahead.SpareNext = s.ID
	prespawn(&ahead, cloneFlags(s))
	// The new goroutine waits in this P's next slot until the caller
	// blocks (an idle P's thread seldom steals it first), which the caller,
	// making the container with short system calls, does only when it
	// takes the spare: the whole overlap lost. Yield: the spare's start runs
	// now, the caller goes on on the other P.
	goruntime.Gosched()
}

// containerAttr is how a container's init is cloned.
func containerAttr(flags uintptr) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags: flags,
		Setsid:     true,
		// The container dies with the berth process that supervises it.
		Pdeathsig: syscall.SIGKILL,
	}
}

// takeSpare returns the spare made for the container s if it fits: cloned
// with flags, its cgroup made with s's resources, stdio of its shape; else
// nil, and a spare that does not fit is discarded (with its cgroup: Start
// makes the container's own).
func takeSpare(s *Spec, stdio IO, flags uintptr) *initProc {
	p := popSpare(s.ID)
	if p == nil {
		return nil
	}
	k := p.spareOf
	fits := k.parent == s.CgroupParent && k.res == s.Resources && k.flags == flags &&
		!s.Process.Tty && stdio.Stdin == nil && stdio.Stdout != nil && stdio.Stderr != nil
	if !fits {
		p.discard()
		return nil
	}
	return p
}

// popSpare takes the spare for the container id out, waiting for it if it
// is being started.
func popSpare(id string) *initProc {
	spares.mu.Lock()
	next := spares.byID[id]
	delete(spares.byID, id)
	spares.mu.Unlock()
	if next == nil {
		return nil
	}
	return <-next
}

// DiscardSpare kills and reaps the spare init started for the container
// id (Spec.SpareNext, StartSpare), if it is still there, and removes its
// cgroup, and reports whether there was one: a build calls it at its end,
// failed, cancelled or not, for each ID it asked a spare for, and run once
// its container is gone or was never made.
func DiscardSpare(id string) bool {
	p := popSpare(id)
	if p != nil {
		p.discard()
	}
	return p != nil
}

// discard kills the spare, reaps it, closes berth's ends of its pipes and
// removes its cgroup, leaving the parents (the build removes them at its
// end).
func (p *initProc) discard() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	if p.pipes != nil {
		p.pipes.closeAll()
	}
	p.link.close()
	_ = p.spareOf.cg.destroy(false)
}

// spareXattr marks the cgroup of a spare (kernfs keeps trusted.*
// attributes on cgroup directories).
const spareXattr = "trusted.berth.spare"

// RemoveStrayCgroups removes the empty cgroups of spares under the berth
// parent named parent ("berth" when empty) that inUse does not claim for a
// container of the caller's store: left by a berth killed before the
// container was created or started. Only `rmdir`: a cgroup with a process
// in it is never touched, and neither is one without the spare's mark
// (another store's container, on its way to start) or one inUse claims
// (a running container's, whose supervisor removes it). It reports
// whether it removed one: the parents it leaves empty are the caller's to
// remove (RemoveCgroupParents). Rootless berth starts no spares and
// removes nothing.
func RemoveStrayCgroups(parent string, inUse func(id string) bool) (removed bool) {
	if InUserNS() {
		return false
	}
	v2 := CgroupFor(parent, "none").v2
	if v2 == "" {
		return false
	}
	entries, err := os.ReadDir(filepath.Dir(v2))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() || !isID(e.Name()) {
			continue
		}
		c := CgroupFor(parent, e.Name())
		if _, err := unix.Getxattr(c.v2, spareXattr, nil); err != nil || inUse(e.Name()) {
			continue
		}
		// EBUSY: a process is in it; ENOENT: gone already. A limit's v1
		// directory goes only once its spare is gone: a live spare is
		// moved into it when its container starts.
		if unix.Rmdir(c.v2) != nil {
			continue
		}
		removed = true
		for _, dir := range c.dirs {
			if dir != c.v2 {
				_ = unix.Rmdir(dir)
			}
		}
	}
	return removed
}

// isID says name is a full container ID: 64 lower-case hex digits.
func isID(name string) bool {
	if len(name) != 64 {
		return false
	}
	for _, r := range name {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
