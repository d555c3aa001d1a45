package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berthkit/berth/internal/plainfile"
	"golang.org/x/sys/unix"
)

// Cgroups are managed through the filesystem, without systemd. Each
// controller Berth uses (memory, pids, cpu, freezer) comes from cgroup v2
// when the unified hierarchy offers it, else from its v1 hierarchy. The
// freezer is part of cgroup v2 itself, so any mounted unified hierarchy
// serves. On a hybrid machine (v1 controllers plus a cgroup2 at
// /sys/fs/cgroup/unified with no controllers) a container has
// /sys/fs/cgroup/unified/berth/<id> (freezer, process list) and, only when
// it has limits, /sys/fs/cgroup/{memory,pids,cpu}/berth/<id>. On a v2
// machine there is one: /sys/fs/cgroup/berth/<id>. The berth parents are
// made by the first container that needs them and removed with the last
// (makeCgroup, removeParents), so no empty berth cgroup outlives them.

// cgroupLayout is where each controller lives on this machine.
type cgroupLayout struct {
	v2Root string            // mount point of the unified hierarchy, "" if none
	v2Has  map[string]bool   // controllers the unified hierarchy offers
	v1     map[string]string // controller → mount point of its v1 hierarchy
}

var (
	layoutOnce sync.Once
	layout     cgroupLayout
)

func cgroups() *cgroupLayout {
	layoutOnce.Do(func() { layout = detectCgroups("/proc/self/mountinfo") })
	return &layout
}

func detectCgroups(mountinfo string) cgroupLayout {
	l := cgroupLayout{v2Has: map[string]bool{}, v1: map[string]string{}}
	f, err := os.Open(mountinfo)
	if err != nil {
		return l
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 0:30 / /sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 0 || sep+3 >= len(fields) || len(fields) < 5 || fields[3] != "/" {
			continue // not the root of a hierarchy: a bind mount of a sub-cgroup
		}
		mnt, fstype, opts := fields[4], fields[sep+1], fields[sep+3]
		switch fstype {
		case "cgroup2":
			if l.v2Root == "" {
				l.v2Root = mnt
			}
		case "cgroup":
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "memory", "pids", "cpu", "cpuset", "freezer":
					if _, ok := l.v1[o]; !ok {
						l.v1[o] = mnt
					}
				}
			}
		}
	}
	if l.v2Root != "" {
		data, _ := os.ReadFile(filepath.Join(l.v2Root, "cgroup.controllers"))
		for _, c := range strings.Fields(string(data)) {
			l.v2Has[c] = true
		}
		// The freezer is built into cgroup v2 (cgroup.freeze), on hybrid
		// machines too. With a v2 cgroup every container is born in its
		// cgroup (clone3's CLONE_INTO_CGROUP) instead of being moved there:
		// moving a process between v1 cgroups waits for an RCU grace period,
		// milliseconds on every start.
		l.v2Has["freezer"] = true
	}
	return l
}

// Cgroup is one container's cgroup in each hierarchy Berth uses.
type Cgroup struct {
	// dirs maps a controller to the container's directory for it.
	dirs map[string]string
	// v2 is the container's directory in the unified hierarchy, if any
	// controller comes from there.
	v2 string
	// v2Controllers are the controllers to enable below the parent.
	v2Controllers []string
	// v2Top is the delegated directory in rootless mode: controllers are
	// enabled below it only. rootlessWhy says why there is none.
	v2Top, rootlessWhy string
	// made holds the directories Create made, once it has: Add and Destroy
	// then touch only those (a container without limits has one cgroup,
	// not five). Nil for a cgroup another process made: every directory.
	made map[string]bool
}

// CgroupFor names the cgroup of container id under parent ("berth" when
// empty). Nothing is created.
func CgroupFor(parent, id string) *Cgroup {
	if parent == "" {
		parent = "berth"
	}
	if ok, _ := Rootless(); ok {
		return rootlessCgroupFor(parent, id)
	}
	l := cgroups()
	c := &Cgroup{dirs: map[string]string{}}
	for _, ctrl := range []string{"freezer", "memory", "pids", "cpu", "cpuset"} {
		switch {
		case l.v2Has[ctrl]:
			c.v2 = filepath.Join(l.v2Root, parent, id)
			c.dirs[ctrl] = c.v2
			if ctrl != "freezer" {
				c.v2Controllers = append(c.v2Controllers, ctrl)
			}
		case l.v1[ctrl] != "":
			c.dirs[ctrl] = filepath.Join(l.v1[ctrl], parent, id)
		}
	}
	return c
}

// Create makes the cgroup directories the resources need (the freezer one
// always: pause, top and cleanup use it) and writes the limits, all but the
// PID limit: berth's own init counts its threads against it, so Start
// applies it with LimitPids when the init is about to execute the
// container's process (the AwaitParent handshake), before it can fork.
func (c *Cgroup) Create(r Resources) error {
	need := map[string]bool{
		"freezer": true, "memory": r.Memory > 0, "pids": r.PidsLimit > 0,
		"cpu": r.NanoCPUs > 0 || r.CPUShares > 0, "cpuset": r.CpusetCpus != "" || r.CpusetMems != "",
	}
	for ctrl, want := range need {
		if want && c.dirs[ctrl] == "" && ctrl != "freezer" && (c.rootlessWhy != "" || c.v2Top != "") {
			return c.missingDelegation(ctrl)
		}
		if want && c.dirs[ctrl] == "" && c.rootlessWhy == "" {
			return fmt.Errorf("the %s cgroup controller is not available on this machine: mount it under /sys/fs/cgroup or drop the limit", ctrl)
		}
	}
	made := map[string]bool{}
	for ctrl, want := range need {
		dir := c.dirs[ctrl]
		if !want || made[dir] || dir == "" {
			continue
		}
		var ctrls []string
		if dir == c.v2 {
			ctrls = c.v2Controllers
		}
		if err := makeCgroup(dir, c.hierarchyRoot(ctrl), ctrls); err != nil {
			return err
		}
		made[dir] = true
	}
	c.made = made
	w := func(ctrl, file, value string) error {
		path := filepath.Join(c.dirs[ctrl], file)
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return fmt.Errorf("set cgroup limit %s=%s: %w", path, value, err)
		}
		return nil
	}
	v2 := func(ctrl string) bool { return c.dirs[ctrl] == c.v2 && c.v2 != "" }
	if r.Memory > 0 {
		mem := strconv.FormatInt(r.Memory, 10)
		if v2("memory") {
			if err := w("memory", "memory.max", mem); err != nil {
				return err
			}
			// Docker's default --memory-swap is twice --memory: as much swap again.
			_ = w("memory", "memory.swap.max", mem)
		} else {
			if err := w("memory", "memory.limit_in_bytes", mem); err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(c.dirs["memory"], "memory.memsw.limit_in_bytes")); err == nil {
				_ = w("memory", "memory.memsw.limit_in_bytes", strconv.FormatInt(2*r.Memory, 10))
			}
		}
	}
	if err := c.writeCPU(r, w, v2("cpu")); err != nil {
		return err
	}
	return c.writeCpuset(r, w, v2("cpuset"))
}

// writeCPU writes the CPU quota (--cpus) and weight (--cpu-shares).
func (c *Cgroup) writeCPU(r Resources, w func(ctrl, file, value string) error, v2 bool) error {
	if r.NanoCPUs > 0 {
		const period = 100000 // µs, Docker's
		quota := r.NanoCPUs * period / 1e9
		if quota < 1000 {
			quota = 1000 // the kernel's minimum
		}
		if v2 {
			if err := w("cpu", "cpu.max", fmt.Sprintf("%d %d", quota, period)); err != nil {
				return err
			}
		} else {
			if err := w("cpu", "cpu.cfs_period_us", strconv.Itoa(period)); err != nil {
				return err
			}
			if err := w("cpu", "cpu.cfs_quota_us", strconv.FormatInt(quota, 10)); err != nil {
				return err
			}
		}
	}
	if r.CPUShares > 0 {
		if v2 {
			return w("cpu", "cpu.weight", strconv.FormatInt(SharesToWeight(r.CPUShares), 10))
		}
		return w("cpu", "cpu.shares", strconv.FormatInt(min(max(r.CPUShares, 2), 262144), 10))
	}
	return nil
}

// SharesToWeight converts cgroup v1 CPU shares (2..262144) to the v2
// weight (1..10000) as runc and crun do, so 1024 becomes 39 and the two
// hierarchies give the same proportions.
func SharesToWeight(shares int64) int64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

// writeCpuset pins the container to CPUs and memory nodes. A new v1
// cpuset cgroup starts with none of either, and a process cannot join it
// until both are set: the missing ones are copied from the parent (and so
// down from the hierarchy's root for berth's own parent cgroup).
func (c *Cgroup) writeCpuset(r Resources, w func(ctrl, file, value string) error, v2 bool) error {
	if r.CpusetCpus == "" && r.CpusetMems == "" {
		return nil
	}
	if !v2 {
		if err := inheritCpuset(c.dirs["cpuset"]); err != nil {
			return err
		}
	}
	if r.CpusetCpus != "" {
		if err := w("cpuset", "cpuset.cpus", r.CpusetCpus); err != nil {
			return err
		}
	}
	if r.CpusetMems != "" {
		return w("cpuset", "cpuset.mems", r.CpusetMems)
	}
	return nil
}

// inheritCpuset fills empty cpuset.cpus and cpuset.mems of dir and of its
// ancestors below the hierarchy's root with their parent's values.
func inheritCpuset(dir string) error {
	root := cgroups().v1["cpuset"]
	var chain []string
	for d := dir; d != root && len(d) > len(root); d = filepath.Dir(d) {
		chain = append([]string{d}, chain...)
	}
	for _, d := range chain {
		for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
			have, err := os.ReadFile(filepath.Join(d, file))
			if err != nil {
				return fmt.Errorf("read %s: %w", filepath.Join(d, file), err)
			}
			if strings.TrimSpace(string(have)) != "" {
				continue
			}
			parent, err := os.ReadFile(filepath.Join(filepath.Dir(d), file))
			if err != nil {
				return fmt.Errorf("read %s: %w", filepath.Join(filepath.Dir(d), file), err)
			}
			if err := os.WriteFile(filepath.Join(d, file), []byte(strings.TrimSpace(string(parent))), 0o644); err != nil {
				return fmt.Errorf("set cgroup %s: %w", filepath.Join(d, file), err)
			}
		}
	}
	return nil
}

// LimitPids writes the PID limit (docker run --pids-limit).
func (c *Cgroup) LimitPids(n int64) error {
	if n <= 0 {
		return nil
	}
	path := filepath.Join(c.dirs["pids"], "pids.max")
	if err := os.WriteFile(path, []byte(strconv.FormatInt(n, 10)), 0o644); err != nil {
		return fmt.Errorf("set cgroup limit %s=%d: %w", path, n, err)
	}
	return nil
}

// pidsCurrent is the number of tasks (threads) the PID limit counts now.
func (c *Cgroup) pidsCurrent() (int64, error) {
	data, err := os.ReadFile(filepath.Join(c.dirs["pids"], "pids.current"))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
}

// Parent cgroups come and go with their containers: Destroy removes a
// berth parent once its last child is gone (removeParents), so a clean
// host has no berth cgroup left, as with runc. A start racing with that
// removal may see its parent vanish between making the parent and making
// its own directory: the kernel then fails the child's mkdir with ENOENT
// (and a parent with a child can never be removed: rmdir fails with
// EBUSY), so makeCgroup makes the parents again, with their controllers,
// and retries. Eight attempts mean seven lost races in a row: a start
// never fails for that in practice.
const makeCgroupAttempts = 8

// testHookParentsMade, when set by a test, runs between making the
// parents and the cgroup: where a concurrent Destroy may strike.
var testHookParentsMade func(dir string)

// makeCgroup makes the directory dir of hierarchy root, and its missing
// parents, with the v2 controllers ctrls enabled for the children of each
// (nil in a v1 hierarchy). A directory that exists is success.
func makeCgroup(dir, root string, ctrls []string) error {
	var err error
	for attempt := 0; attempt < makeCgroupAttempts; attempt++ {
		// Without controllers to enable, the parent usually exists: one
		// mkdir is the whole cost.
		if attempt > 0 || len(ctrls) > 0 {
			if err = makeParents(filepath.Dir(dir), root, ctrls); err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue // removed while being set up
				}
				return err
			}
		}
		if testHookParentsMade != nil {
			testHookParentsMade(dir)
		}
		err = unix.Mkdir(dir, 0o755)
		if err == nil || errors.Is(err, unix.EEXIST) {
			return nil
		}
		if !errors.Is(err, unix.ENOENT) {
			break
		}
	}
	return fmt.Errorf("create cgroup %s: %w", dir, err)
}

// makeParents makes dir and its missing ancestors below root, and turns
// the v2 controllers ctrls on for the children of every directory from
// root down to dir, as cgroup v2 requires. An error wraps ENOENT when a
// concurrent Destroy removed a directory meanwhile.
func makeParents(dir, root string, ctrls []string) error {
	var chain []string
	for d := dir; ; d = filepath.Dir(d) {
		chain = append([]string{d}, chain...)
		if d == root || d == "/" || d == "." {
			break
		}
	}
	for _, d := range chain {
		if d != root {
			if err := unix.Mkdir(d, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("create cgroup %s: %w", d, err)
			}
		}
		if len(ctrls) == 0 {
			continue
		}
		have, err := os.ReadFile(filepath.Join(d, "cgroup.subtree_control"))
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("read %s: %w", filepath.Join(d, "cgroup.subtree_control"), err)
		}
		for _, ctrl := range ctrls {
			if strings.Contains(" "+strings.TrimSpace(string(have))+" ", " "+ctrl+" ") {
				continue
			}
			if err := os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+"+ctrl), 0o644); err != nil {
				return fmt.Errorf("enable the %s controller in %s: %w", ctrl, d, err)
			}
		}
	}
	return nil
}

// hierarchyRoot is the directory below which berth manages the cgroups of
// controller ctrl: the hierarchy's mount point, or the delegated
// directory in rootless mode. Berth never removes it.
func (c *Cgroup) hierarchyRoot(ctrl string) string {
	if c.v2 != "" && c.dirs[ctrl] == c.v2 {
		if c.v2Top != "" {
			return c.v2Top
		}
		return cgroups().v2Root
	}
	return cgroups().v1[ctrl]
}

// ownParent reports whether a parent cgroup directory is berth's by name:
// "berth" (the default parent) or "berth-..." (the tests'). Only those are
// ever removed; a parent of any other name is the user's.
func ownParent(name string) bool {
	return name == "berth" || strings.HasPrefix(name, "berth-")
}

// removeParents removes the empty berth parents of a container's removed
// cgroup dir, deepest first, up to (not including) root. A parent that
// still holds a cgroup fails rmdir with EBUSY (atomically, in the kernel:
// a concurrent start's child either exists and keeps the parent, or is
// made after and makes the parent again): it is in use, and so are its
// ancestors. One removed meanwhile (ENOENT) is as good as removed.
func removeParents(dir, root string) {
	if root == "" || !strings.HasPrefix(dir, root+"/") {
		return
	}
	for d := filepath.Dir(dir); d != root && strings.HasPrefix(d, root+"/"); d = filepath.Dir(d) {
		if !ownParent(filepath.Base(d)) {
			return
		}
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			return // in use (EBUSY, ENOTEMPTY) or not ours to remove
		}
	}
}

// Paths maps each controller berth uses to the container's directory for it.
func (c *Cgroup) Paths() map[string]string {
	out := make(map[string]string, len(c.dirs))
	for k, v := range c.dirs {
		out[k] = v
	}
	return out
}

// OpenV2 opens the cgroup's unified-hierarchy directory, for clone3's
// CLONE_INTO_CGROUP; nil when the cgroup has none.
func (c *Cgroup) OpenV2() (*os.File, error) {
	if c.v2 == "" {
		return nil, nil
	}
	f, err := plainfile.OpenFile(c.v2, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", c.v2, err)
	}
	return f, nil
}

// Add moves process pid into every directory of the cgroup that exists
// (but the unified one when bornInV2: the process was cloned into it).
func (c *Cgroup) Add(pid int, bornInV2 bool) error {
	done := map[string]bool{}
	for _, dir := range c.dirs {
		if done[dir] || (bornInV2 && dir == c.v2) || (c.made != nil && !c.made[dir]) {
			continue
		}
		done[dir] = true
		err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
		if errors.Is(err, os.ErrNotExist) {
			continue // no limit in this hierarchy
		}
		if err != nil {
			return fmt.Errorf("add process %d to cgroup %s: %w", pid, dir, err)
		}
	}
	return nil
}

// Pids lists the processes in the cgroup (host PIDs), from the freezer
// hierarchy, where every container has a cgroup.
func (c *Cgroup) Pids() ([]int, error) {
	dir := c.dirs["freezer"]
	if dir == "" {
		return nil, errors.New("no freezer cgroup on this machine")
	}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// Freeze stops every process of the container (docker pause) and waits
// until the kernel reports them frozen.
func (c *Cgroup) Freeze() error { return c.setFrozen(true) }

// Thaw resumes a frozen container (docker unpause).
func (c *Cgroup) Thaw() error { return c.setFrozen(false) }

func (c *Cgroup) setFrozen(frozen bool) error {
	dir := c.dirs["freezer"]
	if dir == "" {
		return errors.New("no freezer cgroup controller on this machine: pause needs one")
	}
	var file, value, want string
	if dir == c.v2 {
		file, value = "cgroup.freeze", map[bool]string{true: "1", false: "0"}[frozen]
	} else {
		file, value = "freezer.state", map[bool]string{true: "FROZEN", false: "THAWED"}[frozen]
		want = value
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("container has no freezer cgroup (%s): %w", dir, ErrNotRunning)
		}
		return fmt.Errorf("write %s: %w", filepath.Join(dir, file), err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var state bool
		var err error
		if want != "" {
			var data []byte
			data, err = os.ReadFile(filepath.Join(dir, "freezer.state"))
			state = strings.TrimSpace(string(data)) == want
		} else {
			var got bool
			got, err = c.frozenV2()
			state = got == frozen
		}
		if err != nil {
			return err
		}
		if state {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s did not reach the requested freezer state in 5s", dir)
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *Cgroup) frozenV2() (bool, error) {
	data, err := os.ReadFile(filepath.Join(c.v2, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "frozen 1" {
			return true, nil
		}
	}
	return false, nil
}

// Frozen reports whether the container is paused.
func (c *Cgroup) Frozen() bool {
	dir := c.dirs["freezer"]
	if dir == "" {
		return false
	}
	if dir == c.v2 {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
		return err == nil && strings.TrimSpace(string(data)) == "1"
	}
	data, err := os.ReadFile(filepath.Join(dir, "freezer.state"))
	return err == nil && strings.TrimSpace(string(data)) != "THAWED"
}

// OOMKilled reports whether the kernel's OOM killer killed a process of the
// container because of its memory limit.
func (c *Cgroup) OOMKilled() bool {
	dir := c.dirs["memory"]
	if dir == "" || (c.made != nil && !c.made[dir]) {
		return false
	}
	file := "memory.oom_control"
	if dir == c.v2 {
		file = "memory.events"
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			return true
		}
	}
	return false
}

// Destroy removes the cgroup directories, then the berth parents they
// leave empty (removeParents). Processes still inside (a container whose
// init died while exec'd processes linger) are thawed and killed first. A
// cgroup that does not exist is success. The common case, an empty
// cgroup, costs one rmdir a directory and one a parent in each hierarchy
// (a failing rmdir costs a microsecond): the freezer state is read only
// when a directory will not go.
func (c *Cgroup) Destroy() error { return c.destroy(true) }

// destroy is Destroy, which removes the emptied parents only when parents
// is set (see Spec.KeepCgroupParents).
func (c *Cgroup) destroy(parents bool) error {
	done := map[string]bool{}
	var busy, gone []string // controllers
	for ctrl, dir := range c.dirs {
		if done[dir] {
			continue
		}
		done[dir] = true
		if c.made != nil && !c.made[dir] {
			// Never made: only its parent may be empty (left by a berth
			// that did not remove parents, or killed before it could).
			gone = append(gone, ctrl)
			continue
		}
		if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
			busy = append(busy, ctrl)
			continue
		}
		gone = append(gone, ctrl)
	}
	if len(busy) > 0 && c.Frozen() {
		_ = c.Thaw()
	}
	var first error
	for _, ctrl := range busy {
		if err := removeCgroupDir(c.dirs[ctrl]); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		gone = append(gone, ctrl)
	}
	if parents {
		for _, ctrl := range gone {
			removeParents(c.dirs[ctrl], c.hierarchyRoot(ctrl))
		}
	}
	return first
}

// RemoveCgroupParents removes the berth parents named parent ("berth" when
// empty) that no container's cgroup is in any more, in every hierarchy, as
// the removal of the last container under them does: for a caller that
// kept them (Spec.KeepCgroupParents). One in use stays.
func RemoveCgroupParents(parent string) {
	c := CgroupFor(parent, "none")
	done := map[string]bool{}
	for ctrl, dir := range c.dirs {
		if !done[dir] {
			done[dir] = true
			removeParents(dir, c.hierarchyRoot(ctrl))
		}
	}
}

func removeCgroupDir(dir string) error {
	if err := unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	// cgroup v2 kills everything inside in one write.
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644)
	deadline := time.Now().Add(3 * time.Second)
	for delay := 100 * time.Microsecond; ; delay *= 2 {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: processes are still inside: %w", dir, err)
		}
		// Dying processes leave within microseconds; stragglers are killed.
		if data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		time.Sleep(min(delay, 50*time.Millisecond))
	}
}
