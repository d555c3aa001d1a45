//go:build linux

package testscripts

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
)

// rootlessUser is the unprivileged user `make test` creates (with
// /etc/subuid and /etc/subgid ranges) for these tests.
const rootlessUser = "berthtest"

// rootlessEnv is a berth binary the rootless user can run, the user's
// home, and a build context it can read.
type rootlessEnv struct {
	t         *testing.T
	bin, home string
	ctx       string
	uid, gid  int
}

// setupRootless builds berth and prepares a home for the rootless user.
// As root only: the test switches to the user with runuser.
func setupRootless(t *testing.T) *rootlessEnv {
	testenv.RequireRoot(t)
	testenv.RequireOverlay(t)
	u, err := user.Lookup(rootlessUser)
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("user %s is missing: make test-deps creates it", rootlessUser)
		}
		t.Skipf("no user %s (make test-deps creates it)", rootlessUser)
	}
	dir, err := os.MkdirTemp("", "berth-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &rootlessEnv{t: t, bin: filepath.Join(dir, "berth"), home: filepath.Join(dir, "home"), ctx: filepath.Join(dir, "ctx")}
	e.uid, _ = strconv.Atoi(u.Uid)
	e.gid, _ = strconv.Atoi(u.Gid)
	build := exec.Command("go", "build", "-o", e.bin, "github.com/berthkit/berth/cmd/berth")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, d := range []string{e.home, e.ctx} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(e.home, e.uid, e.gid); err != nil {
		t.Fatal(err)
	}
	dockerfile := "FROM busybox\nRUN echo hello > /greeting && mkdir /data && chown 1000:1000 /data\nCMD [\"cat\", \"/greeting\"]\n"
	if err := os.WriteFile(filepath.Join(e.ctx, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// berth runs berth as the rootless user, and fails the test unless it
// exits 0; it returns stdout.
func (e *rootlessEnv) berth(args ...string) string {
	e.t.Helper()
	full := append([]string{"-u", rootlessUser, "--", "env", "-i", "HOME=" + e.home, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"SOURCE_DATE_EPOCH=1700000000", e.bin}, args...)
	return run(e.t, exec.Command("runuser", full...))
}

// rootBerth runs berth as root on root dir.
func (e *rootlessEnv) rootBerth(root string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.bin, append([]string{"--root", root}, args...)...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	return run(e.t, cmd)
}

func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Dir = &out, &errb, "/"
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", strings.Join(cmd.Args, " "), err, out.String(), errb.String())
	}
	return strings.TrimSpace(out.String())
}

// TestRootless builds the notes' image as a normal user, runs it, commits
// a container, and checks that root builds the same image ID.
func TestRootless(t *testing.T) {
	e := setupRootless(t)
	info := e.berth("info")
	if !strings.Contains(info, "Mode: rootless") || !strings.Contains(info, "UID Map: 0 "+strconv.Itoa(e.uid)+" 1; 1 ") {
		t.Fatalf("berth info as %s:\n%s", rootlessUser, info)
	}
	if !strings.Contains(info, "Root Dir: "+filepath.Join(e.home, ".local/share/berth")) {
		t.Fatalf("rootless store is not under ~/.local/share:\n%s", info)
	}
	e.berth("bootstrap", "busybox")
	id := e.berth("build", "-q", "-t", "notes", e.ctx)
	if got := e.berth("run", "--rm", "notes"); got != "hello" {
		t.Fatalf("run notes = %q, want hello", got)
	}
	// Files keep the IDs the container gave them (a subordinate ID here).
	if got := e.berth("run", "--rm", "--network", "none", "notes", "stat", "-c", "%u:%g", "/data"); got != "1000:1000" {
		t.Fatalf("owner of /data = %q, want 1000:1000", got)
	}
	e.berth("run", "--name", "c1", "notes", "sh", "-c", "echo committed > /c")
	e.berth("commit", "c1", "snap")
	if got := e.berth("run", "--rm", "snap", "cat", "/c"); got != "committed" {
		t.Fatalf("run snap = %q, want committed", got)
	}
	// The store belongs to the user, not to root.
	var st syscallStat
	if err := statOwner(filepath.Join(e.home, ".local/share/berth/index.json"), &st); err != nil || st.uid != e.uid {
		t.Fatalf("store owner: %+v %v, want uid %d", st, err, e.uid)
	}
	root := t.TempDir()
	e.rootBerth(root, "bootstrap", "busybox")
	if rootID := e.rootBerth(root, "build", "-q", "-t", "notes", e.ctx); rootID != id {
		t.Fatalf("root build = %s, rootless build = %s: want the same image ID", rootID, id)
	}
}
