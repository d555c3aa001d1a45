//go:build linux

package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestMountPointsUnder(t *testing.T) {
	mountinfo := `22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
45 22 254:0 /var/tmp/berth-bench/podman/overlay /var/tmp/berth-bench/podman/overlay rw - ext4 /dev/vda rw
46 45 0:50 / /var/tmp/berth-bench/podman/overlay/abc/merged rw - overlay overlay rw
47 22 0:51 / /var/tmp/berth-bench2/x rw - tmpfs tmpfs rw
48 22 0:52 / /var/tmp/berth-bench/with\040space rw - tmpfs tmpfs rw
49 22 0:53 / /run/berth-bench rw - tmpfs tmpfs rw
50 22 0:54 / /run/berth-bench/podman/netns rw - nsfs nsfs rw
51 22 0:54 / /run/berth-bench/podman/netns rw - nsfs nsfs rw
`
	got, err := mountPointsUnder(strings.NewReader(mountinfo), []string{"/var/tmp/berth-bench", "/run/berth-bench"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/var/tmp/berth-bench/podman/overlay/abc/merged",
		"/var/tmp/berth-bench/podman/overlay",
		"/var/tmp/berth-bench/with space",
		"/run/berth-bench/podman/netns",
		"/run/berth-bench/podman/netns",
		"/run/berth-bench",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mount points\n got %q\nwant %q", got, want)
	}
}

func TestNewCgroupsSplitsPeersFromOthers(t *testing.T) {
	before := map[string]bool{"/sys/fs/cgroup/memory/libpod_parent": true, "/sys/fs/cgroup/memory/berth": true}
	after := map[string]bool{
		"/sys/fs/cgroup/memory/libpod_parent":             true,
		"/sys/fs/cgroup/memory/libpod_parent/conmon":      true,
		"/sys/fs/cgroup/memory/libpod_parent/libpod-abc":  true,
		"/sys/fs/cgroup/pids/berthbench-runc":             true,
		"/sys/fs/cgroup/memory/berth":                     true,
		"/sys/fs/cgroup/memory/berth/0123456789abcdef":    true,
		"/sys/fs/cgroup/memory/berth-test/somebody-elses": true,
	}
	peers, others := newCgroups(before, after)
	wantPeers := []string{"/sys/fs/cgroup/memory/libpod_parent/conmon", "/sys/fs/cgroup/memory/libpod_parent/libpod-abc", "/sys/fs/cgroup/pids/berthbench-runc"}
	if !reflect.DeepEqual(peers, wantPeers) {
		t.Errorf("peers = %q, want %q", peers, wantPeers)
	}
	wantOthers := []string{"/sys/fs/cgroup/memory/berth-test/somebody-elses", "/sys/fs/cgroup/memory/berth/0123456789abcdef"}
	if !reflect.DeepEqual(others, wantOthers) {
		t.Errorf("others = %q, want %q", others, wantOthers)
	}
}

func TestRemoveCgroupsLeavesWhatItCannotRemove(t *testing.T) {
	dir := t.TempDir()
	// A plain directory with a file in it stands for a cgroup with tasks:
	// rmdir fails and it must be reported, not forced.
	if err := writeFiles(dir, map[string]string{"busy/tasks": "1\n"}); err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(dir, map[string]string{"empty/.keep": ""}); err != nil {
		t.Fatal(err)
	}
	left := removeCgroups([]string{dir + "/busy", dir + "/gone"})
	if !reflect.DeepEqual(left, []string{dir + "/busy"}) {
		t.Errorf("left = %q, want only the busy one (a missing one is already gone)", left)
	}
}
