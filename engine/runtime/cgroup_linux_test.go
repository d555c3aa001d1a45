package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

func fakeMountinfo(t *testing.T, lines string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(p, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDetectCgroupsHybrid(t *testing.T) {
	v2 := t.TempDir() // an empty unified hierarchy, as on this project's CI machine
	os.WriteFile(filepath.Join(v2, "cgroup.controllers"), []byte("hugetlb\n"), 0o644)
	l := detectCgroups(fakeMountinfo(t, ""+
		"30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"+
		"31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"+
		"32 25 0:28 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"+
		"33 25 0:29 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"+
		"34 25 0:30 /docker/abc /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"+
		"35 25 0:31 / "+v2+" rw,relatime - cgroup2 cgroup2 rw\n"))
	want := map[string]string{
		"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct",
		"pids": "/sys/fs/cgroup/pids", "freezer": "/sys/fs/cgroup/freezer",
	}
	for ctrl, mnt := range want {
		if l.v1[ctrl] != mnt || (l.v2Has[ctrl] != (ctrl == "freezer")) {
			t.Errorf("%s: v1 %q v2 %v, want v1 %q", ctrl, l.v1[ctrl], l.v2Has[ctrl], mnt)
		}
	}
	// The freezer is cgroup v2's own: it comes from the unified hierarchy.
	if l.v2Root != v2 {
		t.Errorf("v2 root %q", l.v2Root)
	}
}

func TestDetectCgroupsUnified(t *testing.T) {
	v2 := t.TempDir()
	os.WriteFile(filepath.Join(v2, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644)
	l := detectCgroups(fakeMountinfo(t, "25 20 0:22 / "+v2+" rw - cgroup2 cgroup2 rw,nsdelegate\n"))
	for _, ctrl := range []string{"memory", "pids", "cpu", "freezer"} {
		if !l.v2Has[ctrl] || l.v1[ctrl] != "" {
			t.Errorf("%s: v2 %v v1 %q, want v2", ctrl, l.v2Has[ctrl], l.v1[ctrl])
		}
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[int64]int64{1: 1, 2: 1, 512: 20, 1024: 39, 262144: 10000, 1 << 30: 10000} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}
