//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Reset removes what an earlier run left: runtime containers, mounts under
// the bench and run directories, then the directories themselves. A file
// system mounted on the bench directory itself (the scratch file system,
// scratch.go) stays mounted and is emptied.
func (e *Env) Reset() error {
	e.stopRegistry()
	for _, rt := range []string{"runc", "crun"} {
		if e.has(rt) {
			e.try(Cmd{Argv: []string{rt, "--root", filepath.Join(e.RunDir, rt), "delete", "-f", "berthbench-" + rt}})
		}
	}
	if err := e.unmountAll(); err != nil {
		return err
	}
	for _, d := range []string{e.Dir, e.RunDir} {
		remove := os.RemoveAll
		if d == e.Dir && isMountPoint(d) {
			remove = removeContents
		}
		if err := remove(d); err != nil {
			return fmt.Errorf("remove %s: %w (is something still mounted there?)", d, err)
		}
	}
	return nil
}

// removeContents removes everything in dir but dir itself.
func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, ent := range entries {
		if err := os.RemoveAll(filepath.Join(dir, ent.Name())); err != nil {
			return err
		}
	}
	return nil
}

// isMountPoint says whether something is mounted on dir itself.
func isMountPoint(dir string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	info, _, err := mountOf(f, dir)
	return err == nil && info.MountPoint == dir
}

// unmountAll unmounts every mount point under the bench and run
// directories, deepest first (Podman's storage bind-mounts its overlay
// directory onto itself, and containers leave overlay mounts when killed),
// but not the bench directory itself (see Reset).
func (e *Env) unmountAll() error { return unmountUnder([]string{e.Dir, e.RunDir}, e.Dir) }

// unmountUnder unmounts every mount point at or under dirs, deepest first,
// except keep.
func unmountUnder(dirs []string, keep string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	points, err := mountPointsUnder(f, dirs)
	f.Close()
	if err != nil {
		return err
	}
	for _, p := range points {
		if p == keep {
			continue
		}
		if err := unix.Unmount(p, 0); err != nil {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				return fmt.Errorf("unmount %s: %w", p, err)
			}
		}
	}
	return nil
}

// mountPointsUnder reads mountinfo and returns the mount points at or under
// any of dirs, deepest first; a point with mounts stacked on it is listed
// once per mount, so each is unmounted.
func mountPointsUnder(r io.Reader, dirs []string) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		for _, d := range dirs {
			if d != "" && under(mp, d) {
				out = append(out, mp)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := strings.Count(out[i], "/"), strings.Count(out[j], "/")
		if di != dj {
			return di > dj
		}
		return out[i] > out[j]
	})
	return out, sc.Err()
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupRoot is where the v1 controllers and the v2 hierarchy are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupDirs lists the cgroup directories under root, down to depth levels
// below each hierarchy, skipping the sandbox's own process_api tree.
func cgroupDirs(root string, depth int) map[string]bool {
	out := map[string]bool{}
	hierarchies, _ := os.ReadDir(root)
	for _, h := range hierarchies {
		var walk func(dir string, level int)
		walk = func(dir string, level int) {
			if level > depth {
				return
			}
			entries, _ := os.ReadDir(dir)
			for _, ent := range entries {
				if !ent.IsDir() || ent.Name() == "process_api" {
					continue
				}
				p := filepath.Join(dir, ent.Name())
				out[p] = true
				walk(p, level+1)
			}
		}
		walk(filepath.Join(root, h.Name()), 1)
	}
	return out
}

// newCgroups returns the directories in after that are not in before,
// split into the ones the peers own (removable: under libpod_parent, or
// named berthbench-*) and the rest (reported, never touched: another
// process may own them), each deepest first.
func newCgroups(before, after map[string]bool) (peers, others []string) {
	for p := range after {
		if before[p] {
			continue
		}
		if strings.Contains(p, "/libpod_parent") || strings.HasPrefix(filepath.Base(p), "berthbench-") {
			peers = append(peers, p)
		} else {
			others = append(others, p)
		}
	}
	deepest := func(s []string) {
		sort.Slice(s, func(i, j int) bool {
			if a, b := strings.Count(s[i], "/"), strings.Count(s[j], "/"); a != b {
				return a > b
			}
			return s[i] < s[j]
		})
	}
	deepest(peers)
	deepest(others)
	return peers, others
}

// removeCgroups rmdirs empty cgroups (rmdir fails on a cgroup with tasks,
// so a live one is never disturbed) and returns those still there.
func removeCgroups(dirs []string) []string {
	var left []string
	for _, d := range dirs {
		if err := unix.Rmdir(d); err != nil && !os.IsNotExist(err) {
			left = append(left, d)
		}
	}
	return left
}
