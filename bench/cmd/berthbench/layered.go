//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Push and pull of a many-layer image, where moving layers in parallel
// counts (issue 18: ahead of skopeo by 2×): busybox plus layeredCount
// layers of layeredMiB MiB of random bytes each, pushed to an empty
// docker-registry (or the `registry serve` stand-in) and pulled from it
// into an empty store, next to skopeo copying the same image.

const (
	layeredImage = "bench/layers:1"
	layeredCount = 5
	layeredMiB   = 10
)

// layeredRuns is the timed runs of each tool in the push-layers and
// pull-layers cases. Their goals are ratios near their line: with 3 runs,
// skopeo's pull median moved from 165 to 255 ms between three runs of the
// same hour, turning the verdict either way. A run takes a quarter to half
// a second.
const layeredRuns = 9

// ensureLayeredImage builds the image once in the bench store.
func (e *Env) ensureLayeredImage() error {
	if e.do(e.berth("image", "inspect", layeredImage)) == nil {
		return nil
	}
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\n", baseBerth)
	for i := 1; i <= layeredCount; i++ {
		fmt.Fprintf(&df, "RUN head -c %d /dev/urandom > /layer%d\n", layeredMiB<<20, i)
	}
	dir := e.path("ctx", "layers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		return err
	}
	if err := e.do(e.berth("build", "-q", "--network", "host", "-t", layeredImage, dir)); err != nil {
		return fmt.Errorf("build the %d-layer image: %w", layeredCount+1, err)
	}
	return nil
}

// layeredCases are push-layers and pull-layers.
func (e *Env) layeredCases() ([]*Case, error) {
	if err := e.ensureLayeredImage(); err != nil {
		return nil, err
	}
	size, err := transferSize(e.berthRoot(), layeredImage)
	if err != nil {
		return nil, err
	}
	addr, err := e.registryAddr()
	if err != nil {
		return nil, err
	}
	repo := addr + "/" + layeredImage
	if err := e.do(e.berth("tag", layeredImage, repo)); err != nil {
		return nil, err
	}
	ref, err := layoutRef(e.berthRoot(), strings.TrimSuffix(layeredImage, ":1"))
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("a %d-layer image (busybox + %d × %d MiB random; %.1f MB)", layeredCount+1, layeredCount, layeredMiB, float64(size)/1e6)
	fresh := func() error { return e.freshRegistry() }
	push := &Case{
		ID: "push-layers", Title: "push " + what + " to an empty registry on 127.0.0.1",
		Warmup: 1, Runs: layeredRuns, Bytes: size,
		Teardown: func() error { e.stopRegistry(); return nil },
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berth("push", "-q", repo), Prepare: fresh,
				Note: "5 layers at a time (Docker's max-concurrent-uploads)."},
			{Tool: "skopeo", Skip: e.notInstalled("skopeo"), Prepare: fresh,
				Cmd:  e.skopeo("copy", "-q", "--dest-tls-verify=false", "oci:"+e.berthRoot()+":"+ref, "docker://"+repo),
				Note: "skopeo copy from Berth's store (an OCI layout): the same blobs."},
		},
	}
	pullRoot, skopeoDst := e.path("berth-pull-layers"), e.out("skopeo-pull-layers")
	served := map[string]*serverCPU{"berth": {}, "skopeo": {}}
	pull := &Case{
		ID: "pull-layers", Title: "pull that image from the registry on 127.0.0.1 into an empty store",
		Warmup: 1, Runs: layeredRuns, Bytes: size,
		Setup: func() error {
			if err := e.freshRegistry(); err != nil {
				return err
			}
			return e.do(e.berth("push", "-q", repo))
		},
		Teardown: func() error {
			if b, s := served["berth"], served["skopeo"]; b.runs > 0 && s.runs > 0 {
				e.note("pull-layers: %s's own CPU per pull (user + system from /proc, mean over every run): %s serving berth (%d runs), %s serving skopeo (%d runs); the two cores are shared by the client and the registry",
					reg.kind, formatSeconds(b.mean()), b.runs, formatSeconds(s.mean()), s.runs)
			}
			e.stopRegistry()
			os.RemoveAll(skopeoDst)
			return os.RemoveAll(pullRoot)
		},
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berthAt(pullRoot, "pull", "-q", repo),
				Prepare: func() error { served["berth"].start(); return os.RemoveAll(pullRoot) },
				Cleanup: func() error { served["berth"].stop(); return nil },
				Note:    "3 layers at a time (Docker's max-concurrent-downloads); every blob's digest and every layer's diff ID checked."},
			{Tool: "skopeo", Skip: e.notInstalled("skopeo"),
				Prepare: func() error { served["skopeo"].start(); return os.RemoveAll(skopeoDst) },
				Cleanup: func() error { served["skopeo"].stop(); return nil },
				Cmd:     e.skopeo("copy", "-q", "--src-tls-verify=false", "docker://"+repo, "oci:"+skopeoDst+":layers"),
				Note:    "skopeo copy into an OCI layout directory: blob digests checked, layers not decompressed."},
		},
	}
	return []*Case{push, pull}, nil
}

// serverCPU adds up the registry's CPU over the runs of one client: read
// from /proc before and after each run (Prepare and Cleanup, untimed), so
// a reader sees what the server took from the two cores the client had.
// /proc counts in clock ticks (10 ms here): the mean over the runs is the
// figure, not any one run's.
type serverCPU struct {
	before, total float64
	runs          int
	ok            bool
}

func (c *serverCPU) start() {
	c.before, c.ok = registryCPU()
}

func (c *serverCPU) stop() {
	if after, ok := registryCPU(); ok && c.ok {
		c.total += after - c.before
		c.runs++
	}
	c.ok = false
}

func (c *serverCPU) mean() float64 { return c.total / float64(c.runs) }

// registryCPU is the running registry's user plus system time in seconds.
func registryCPU() (float64, bool) {
	if reg.cmd == nil || reg.cmd.Process == nil {
		return 0, false
	}
	return processCPU(reg.cmd.Process.Pid)
}

// processCPU reads utime and stime (fields 14 and 15) of /proc/PID/stat,
// which count every thread of the process, those that ended included.
func processCPU(pid int) (float64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	return statCPU(data)
}

// statCPU reads the CPU seconds out of a /proc/PID/stat line.
func statCPU(data []byte) (float64, bool) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (utime + stime) / clockTicks, true
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc.
const clockTicks = 100
