//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// becomeSubreaper makes processes that a tool leaves behind (Podman's conmon
// and the `podman container cleanup` it starts when the container exits)
// this program's children when their parent exits, so settle can wait for
// them instead of letting them run into the next tool's timed run.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// settleLimit bounds the wait for leftovers: a daemon a tool leaves for good
// must not stall the bench.
const settleLimit = 30 * time.Second

// settle waits until this program has no children but the ones keep says to
// keep (the registry), reaping each as it exits, and returns how long that
// took (0 when nothing was left: the scan itself is not the tool's) and
// whether anything was still running at the limit.
func settle(keep func(pid int) bool) (time.Duration, bool) {
	start := time.Now()
	self := os.Getpid()
	for first := true; ; first = false {
		left := false
		for _, pid := range childrenOf(self) {
			if keep != nil && keep(pid) {
				continue
			}
			var ws unix.WaitStatus
			if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil && got == pid {
				continue
			}
			left = true
		}
		if !left {
			if first {
				return 0, false
			}
			return time.Since(start), false
		}
		if time.Since(start) > settleLimit {
			return time.Since(start), true
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range stats {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if ppid, ok := parentFromStat(string(data)); ok && ppid == pid {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				out = append(out, child)
			}
		}
	}
	return out
}

// parentFromStat reads the parent PID from a /proc/PID/stat line, whose
// command name may contain spaces and parentheses.
func parentFromStat(stat string) (int, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}
