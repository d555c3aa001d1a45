package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
	"golang.org/x/sys/unix"
)

// applyLimits writes the limits into the running container's cgroup.
func applyLimits(c *store.Container, h store.HostConfig) error {
	cg := runtime.CgroupFor("", c.ID)
	r := runtime.Resources{Memory: h.Memory, NanoCPUs: h.NanoCPUs}
	if dir := cg.Paths()["memory"]; dir != "" && h.Memory > 0 {
		// v1 needs memory+swap >= memory at every moment: raise it first.
		sw := filepath.Join(dir, "memory.memsw.limit_in_bytes")
		if _, err := os.Stat(sw); err == nil {
			_ = os.WriteFile(sw, []byte(strconv.FormatInt(2*h.Memory, 10)), 0o644)
		}
	}
	if err := cg.Create(r); err != nil {
		return err
	}
	if h.Memory == 0 && c.Host.Memory > 0 {
		unlimit(cg.Paths()["memory"], "memory.memsw.limit_in_bytes", "memory.limit_in_bytes", "memory.max", "memory.swap.max")
	}
	if h.NanoCPUs == 0 && c.Host.NanoCPUs > 0 {
		unlimit(cg.Paths()["cpu"], "cpu.cfs_quota_us")
		if dir := cg.Paths()["cpu"]; dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "cpu.max"), []byte("max"), 0o644)
		}
	}
	if h.PidsLimit > 0 {
		if err := os.MkdirAll(cg.Paths()["pids"], 0o755); err != nil {
			return err
		}
		if err := cg.LimitPids(h.PidsLimit); err != nil {
			return err
		}
	} else if c.Host.PidsLimit > 0 {
		unlimit(cg.Paths()["pids"], "pids.max")
	}
	// The processes move into the cgroups a new limit made. They come and
	// go meanwhile: one that exited is no error, and a few passes catch
	// the children forked by a parent not yet moved.
	for pass := 0; pass < 3; pass++ {
		pids, err := cg.Pids()
		if err != nil {
			return err
		}
		for _, pid := range pids {
			if err := cg.Add(pid, true); err != nil && !errors.Is(err, unix.ESRCH) {
				return err
			}
		}
	}
	return nil
}

// unlimit writes "max" (v2, pids) or -1 (v1) into the files of dir that
// exist.
func unlimit(dir string, files ...string) {
	if dir == "" {
		return
	}
	for _, f := range files {
		value := "-1"
		if f == "memory.max" || f == "memory.swap.max" || f == "pids.max" {
			value = "max"
		}
		_ = os.WriteFile(filepath.Join(dir, f), []byte(value), 0o644)
	}
}
