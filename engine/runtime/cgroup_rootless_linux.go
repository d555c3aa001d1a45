package runtime

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// In rootless mode berth may only use a cgroup v2 subtree delegated to
// the user: a directory (its own cgroup or an ancestor) whose cgroup.procs
// and cgroup.subtree_control the user may write, with the controllers it
// hands down enabled in cgroup.subtree_control (systemd's Delegate=yes
// does that). Containers then live in <delegated>/berth/<id>. Without one,
// containers run in berth's own cgroup and a limit is refused, naming what
// is missing; it is never silently ignored.

// Delegation is the user's delegated cgroup v2 subtree.
type Delegation struct {
	// Dir is the delegated directory, "" when there is none.
	Dir string
	// Controllers are those enabled for its children.
	Controllers []string
	// Why says why there is no delegation.
	Why string
}

var (
	delegationOnce sync.Once
	delegation     Delegation
)

// CgroupDelegation finds the user's delegated cgroup v2 subtree.
func CgroupDelegation() Delegation {
	delegationOnce.Do(func() { delegation = findDelegation(cgroups().v2Root, "/proc/self/cgroup") })
	return delegation
}

func findDelegation(v2Root, selfCgroup string) Delegation {
	if v2Root == "" {
		return Delegation{Why: "no cgroup v2 hierarchy is mounted"}
	}
	own, err := ownV2Cgroup(selfCgroup)
	if err != nil {
		return Delegation{Why: err.Error()}
	}
	start := filepath.Join(v2Root, own)
	for d := start; strings.HasPrefix(d, v2Root) && d != v2Root; d = filepath.Dir(d) {
		if unix.Access(filepath.Join(d, "cgroup.procs"), unix.W_OK) != nil ||
			unix.Access(filepath.Join(d, "cgroup.subtree_control"), unix.W_OK) != nil {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(d, "cgroup.subtree_control"))
		return Delegation{Dir: d, Controllers: strings.Fields(string(data))}
	}
	return Delegation{Why: fmt.Sprintf("neither your cgroup %s nor any of its parents is delegated to you: as root, chown it to you and enable controllers in its cgroup.subtree_control, or start berth in a systemd unit with Delegate=yes", start)}
}

// ownV2Cgroup reads this process's unified-hierarchy cgroup ("0::/path").
func ownV2Cgroup(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s names no cgroup v2 directory", file)
}

// rootlessCgroupFor is CgroupFor in rootless mode.
func rootlessCgroupFor(parent, id string) *Cgroup {
	c := &Cgroup{dirs: map[string]string{}}
	d := CgroupDelegation()
	if d.Dir == "" {
		c.rootlessWhy = d.Why
		return c
	}
	c.v2 = filepath.Join(d.Dir, parent, id)
	c.v2Top = d.Dir
	c.dirs["freezer"] = c.v2
	for _, ctrl := range d.Controllers {
		switch ctrl {
		case "memory", "pids", "cpu", "cpuset":
			c.dirs[ctrl] = c.v2
			c.v2Controllers = append(c.v2Controllers, ctrl)
		}
	}
	return c
}

// missingDelegation names the controller a limit needs and rootless mode
// lacks.
func (c *Cgroup) missingDelegation(ctrl string) error {
	if c.rootlessWhy != "" {
		return fmt.Errorf("rootless mode cannot apply the %s limit: %s", ctrl, c.rootlessWhy)
	}
	return fmt.Errorf("rootless mode cannot apply the %s limit: the %s controller is not delegated to you in %s (enable it in its parent's cgroup.subtree_control)", ctrl, ctrl, c.v2Top)
}
