package engine

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/runtime"
)

// ContainerStats is one sample of a running container's resource use, as
// docker stats shows it.
type ContainerStats struct {
	Read time.Time
	// CPUTotal is the CPU time its processes used (ns); SystemCPU the
	// host's total CPU time (ns) at the same moment, for a percentage
	// between two samples.
	CPUTotal, SystemCPU uint64
	OnlineCPUs          uint32
	// MemoryUsage, its page cache part (Docker subtracts it) and the
	// limit: --memory, or the host's memory.
	MemoryUsage, MemoryCache, MemoryLimit uint64
	MemoryStats                           map[string]uint64
	Pids, PidsLimit                       uint64
	Running                               bool
}

// ContainerStats samples a container's cgroup: its processes (freezer
// hierarchy), memory (its memory cgroup when it has --memory, else the
// resident size of its processes) and CPU time (of its processes, from
// /proc). A stopped container gives a zero sample.
func (e *Engine) ContainerStats(ctx context.Context, idOrName string) (*ContainerStats, error) {
	c, err := e.container(idOrName)
	if err != nil {
		return nil, err
	}
	st := &ContainerStats{Read: time.Now(), SystemCPU: systemCPU(), OnlineCPUs: uint32(onlineCPUs()), MemoryStats: map[string]uint64{}}
	if !c.State.Running() {
		return st, nil
	}
	st.Running = true
	cg := runtime.CgroupFor("", c.ID)
	pids, _ := cg.Pids()
	st.Pids = uint64(len(pids))
	if c.Host.PidsLimit > 0 {
		st.PidsLimit = uint64(c.Host.PidsLimit)
	}
	var rss uint64
	for _, pid := range pids {
		cpu, mem := procUsage(pid)
		st.CPUTotal += cpu
		rss += mem
	}
	st.MemoryUsage, st.MemoryLimit = rss, hostMemory()
	if dir := cg.Paths()["memory"]; dir != "" && c.Host.Memory > 0 {
		memoryCgroup(dir, st)
	}
	return st, nil
}

// memoryCgroup reads usage, limit and memory.stat from a v1 or v2 memory
// cgroup directory.
func memoryCgroup(dir string, st *ContainerStats) {
	read := func(name string) (uint64, bool) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		return n, err == nil
	}
	// A process moved in by docker update keeps its earlier pages charged
	// elsewhere: the resident size is the better figure until it is
	// overtaken.
	rss := st.MemoryUsage
	if n, ok := read("memory.usage_in_bytes"); ok {
		st.MemoryUsage = n
	} else if n, ok := read("memory.current"); ok {
		st.MemoryUsage = n
	}
	if st.MemoryUsage < rss {
		st.MemoryUsage = rss
		defer func() { st.MemoryCache = 0 }()
	}
	if n, ok := read("memory.limit_in_bytes"); ok && n < st.MemoryLimit {
		st.MemoryLimit = n
	} else if n, ok := read("memory.max"); ok && n < st.MemoryLimit {
		st.MemoryLimit = n
	}
	data, _ := os.ReadFile(filepath.Join(dir, "memory.stat"))
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if n, err := strconv.ParseUint(v, 10, 64); ok && err == nil {
			st.MemoryStats[k] = n
		}
	}
	if n, ok := st.MemoryStats["total_inactive_file"]; ok {
		st.MemoryCache = n
	} else if n, ok := st.MemoryStats["inactive_file"]; ok {
		st.MemoryCache = n
	}
}

// procUsage is a process's CPU time (ns) and resident memory (bytes).
func procUsage(pid int) (cpuNS, rssBytes uint64) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	// The command name may hold spaces: fields count from after its ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime is field 14, stime 15, rss 24.
	if len(f) < 22 {
		return 0, 0
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	rss, _ := strconv.ParseUint(f[21], 10, 64)
	return (utime + stime) * uint64(time.Second/clockTicks), rss * uint64(os.Getpagesize())
}

// systemCPU is the host's total CPU time (ns), from /proc/stat's cpu line.
func systemCPU() uint64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "cpu" {
		return 0
	}
	var ticks uint64
	for _, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		ticks += n
	}
	return ticks * uint64(time.Second/clockTicks)
}

func onlineCPUs() int {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 1
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "cpu") && len(line) > 3 && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return n
}

// hostMemory is MemTotal in bytes.
func hostMemory() uint64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}
