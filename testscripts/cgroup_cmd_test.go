//go:build linux

package testscripts

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// cgroupsCleanCmd checks that berth left no cgroup behind:
//
//	cgroupsclean
//
// fails when, in any cgroup hierarchy, a berth parent (berth, berth-*)
// holds no cgroup, or a cgroup below one holds no process and no cgroup:
// what a removed container would leave. Other scenarios (and other berth
// processes on the machine) start and remove containers meanwhile, and
// theirs are empty for an instant; a leftover stays empty, the same
// directory (inode) in every look. So the check looks again until no
// directory has been empty in every look, and fails only when one was for
// 20 s.
func cgroupsCleanCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: cgroupsclean")
	}
	roots, err := cgroupRoots()
	ts.Check(err)
	if len(roots) == 0 {
		ts.Fatalf("no cgroup hierarchy is mounted")
	}
	suspects := emptyBerthCgroups(roots)
	deadline := time.Now().Add(20 * time.Second)
	for len(suspects) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		again := emptyBerthCgroups(roots)
		for k := range suspects {
			if !again[k] {
				delete(suspects, k)
			}
		}
	}
	if len(suspects) > 0 {
		var left []string
		for k := range suspects {
			left = append(left, k.path)
		}
		sort.Strings(left)
		ts.Fatalf("empty berth cgroups left behind:\n%s", strings.Join(left, "\n"))
	}
	ts.Logf("no berth cgroup left in %s", strings.Join(roots, ", "))
}

// cgroupDir is one directory, told apart from a later one at its path.
type cgroupDir struct {
	path string
	ino  uint64
}

// emptyBerthCgroups lists the berth parents with no cgroup in them and the
// cgroups below them with neither processes nor cgroups.
func emptyBerthCgroups(roots []string) map[cgroupDir]bool {
	out := map[cgroupDir]bool{}
	for _, root := range roots {
		tops, _ := filepath.Glob(filepath.Join(root, "berth*"))
		for _, top := range tops {
			if name := filepath.Base(top); name != "berth" && !strings.HasPrefix(name, "berth-") {
				continue
			}
			_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
				if err != nil || !d.IsDir() {
					return nil
				}
				entries, err := os.ReadDir(p)
				if err != nil {
					return nil // removed meanwhile
				}
				for _, e := range entries {
					if e.IsDir() {
						return nil // not a leaf
					}
				}
				procs, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
				var st syscall.Stat_t
				if err != nil || len(strings.TrimSpace(string(procs))) > 0 || syscall.Stat(p, &st) != nil {
					return nil
				}
				out[cgroupDir{p, st.Ino}] = true
				return nil
			})
		}
	}
	return out
}

// cgroupRoots are the mount points of the machine's cgroup hierarchies.
func cgroupRoots() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var roots []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && len(fields) > 4 && fields[3] == "/" &&
				(fields[i+1] == "cgroup" || fields[i+1] == "cgroup2") {
				roots = append(roots, fields[4])
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	return roots, nil
}
