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

// settled is what settle found.
type settled struct {
	// Wait is how long the leftovers ran on (0 when nothing was left: the
	// scan itself is not the tool's).
	Wait time.Duration
	// CPU is the user and system time of the leftovers it reaped, with
	// their own reaped descendants (wait4's rusage).
	CPU time.Duration
	// Stuck is set when something was still running at the limit.
	Stuck bool
}

// settle waits until this program has no children but the ones keep says to
// keep (the registry), reaping each as it exits.
func settle(keep func(pid int) bool) settled {
	start := time.Now()
	self := os.Getpid()
	var res settled
	for first := true; ; first = false {
		left := false
		for _, pid := range childrenOf(self) {
			if keep != nil && keep(pid) {
				continue
			}
			var ws unix.WaitStatus
			var ru unix.Rusage
			if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, &ru); err == nil && got == pid {
				res.CPU += rusageCPU(&ru)
				continue
			}
			left = true
		}
		if !left {
			if !first {
				res.Wait = time.Since(start)
			}
			return res
		}
		if time.Since(start) > settleLimit {
			res.Wait, res.Stuck = time.Since(start), true
			return res
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rusageCPU is user plus system time.
func rusageCPU(ru *unix.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
