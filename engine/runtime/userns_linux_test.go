package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSubIDs(t *testing.T) {
	const file = "# ranges\nalice:100000:65536\n1002:300000:1000\nbob:200000:65536\n"
	for _, tc := range []struct {
		name string
		id   int
		want IDRange
		err  error
	}{
		{"alice", 1001, IDRange{100000, 65536}, nil},
		{"bob", 1003, IDRange{200000, 65536}, nil},
		{"carol", 1002, IDRange{300000, 1000}, nil}, // by numeric ID
		{"dave", 1004, IDRange{}, ErrNoSubIDs},
	} {
		got, err := parseSubIDs(strings.NewReader(file), "/etc/subuid", tc.name, tc.id)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	// A broken line for the user is an error that names the file and the line.
	_, err := parseSubIDs(strings.NewReader("alice:x:65536\n"), "/etc/subuid", "alice", 1001)
	if err == nil || !strings.Contains(err.Error(), `/etc/subuid: bad line "alice:x:65536"`) {
		t.Errorf("bad line: %v", err)
	}
	if _, err := SubIDs(filepath.Join(t.TempDir(), "none"), "alice", 1001); !errors.Is(err, ErrNoSubIDs) {
		t.Errorf("missing file: %v, want ErrNoSubIDs", err)
	}
}

func TestFindDelegation(t *testing.T) {
	root := t.TempDir()
	own := filepath.Join(root, "user.slice", "user-1000.slice")
	if err := os.MkdirAll(own, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cgroup.procs", "cgroup.subtree_control"} {
		if err := os.WriteFile(filepath.Join(own, f), []byte("memory pids\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	self := filepath.Join(t.TempDir(), "cgroup")
	if err := os.WriteFile(self, []byte("1:name=systemd:/\n0::/user.slice/user-1000.slice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := findDelegation(root, self)
	if d.Dir != own || strings.Join(d.Controllers, " ") != "memory pids" {
		t.Fatalf("delegation = %+v, want %s with memory pids", d, own)
	}
	// No cgroup.subtree_control to write anywhere: none, and the reason
	// names the cgroup.
	if err := os.Remove(filepath.Join(own, "cgroup.subtree_control")); err != nil {
		t.Fatal(err)
	}
	d = findDelegation(root, self)
	if d.Dir != "" || !strings.Contains(d.Why, own) || !strings.Contains(d.Why, "delegated") {
		t.Fatalf("without delegation: %+v", d)
	}
	if d := findDelegation("", self); d.Why != "no cgroup v2 hierarchy is mounted" {
		t.Fatalf("no v2: %+v", d)
	}
}

// TestRootlessCgroupRefusesLimits: without a delegation a limit is an
// error naming what is missing, never ignored.
func TestRootlessCgroupRefusesLimits(t *testing.T) {
	c := &Cgroup{dirs: map[string]string{}, rootlessWhy: "neither your cgroup /sys/fs/cgroup/x nor any of its parents is delegated to you"}
	err := c.Create(Resources{Memory: 64 << 20})
	if err == nil || !strings.Contains(err.Error(), "rootless mode cannot apply the memory limit: neither your cgroup") {
		t.Fatalf("Create with --memory = %v", err)
	}
	if err := c.Create(Resources{}); err != nil {
		t.Fatalf("Create without limits = %v, want nil (no cgroup needed)", err)
	}
	c = &Cgroup{dirs: map[string]string{"freezer": "/x/berth/id", "memory": "/x/berth/id"}, v2: "/x/berth/id", v2Top: "/x"}
	err = c.Create(Resources{PidsLimit: 10})
	if err == nil || !strings.Contains(err.Error(), "the pids controller is not delegated to you in /x") {
		t.Fatalf("Create with --pids-limit = %v", err)
	}
}

func TestInUserNSAsHostRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs host root")
	}
	if b, _ := os.ReadFile("/proc/self/uid_map"); strings.Fields(string(b))[2] != "4294967295" {
		t.Skip("tests run in a user namespace")
	}
	if InUserNS() {
		t.Fatal("InUserNS() = true for host root")
	}
	if ok, _ := Rootless(); ok {
		t.Fatal("Rootless() = true for host root")
	}
}

// TestPasswdName: the rootless mode's user names come from /etc/passwd.
func TestPasswdName(t *testing.T) {
	if name, ok := passwdName(0); !ok || name != "root" {
		t.Errorf("passwdName(0) = %q, %v; want root", name, ok)
	}
	if name, ok := passwdName(1 << 30); ok {
		t.Errorf("passwdName(1<<30) = %q, want none", name)
	}
}
