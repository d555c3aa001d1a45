//go:build linux

package testscripts

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
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
	extraEnv  []string // more environment for the rootless berth
}

// setupRootless builds berth (and berth-init) and prepares a home for the rootless user.
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
	// Rootless berth leaves its user namespace's holder running (as
	// podman's pause process); this test's copy of berth goes with it.
	t.Cleanup(func() {
		_ = exec.Command("pkill", "-KILL", "-f", "^"+regexp.QuoteMeta(e.bin)+" _rootless-pause").Run()
	})
	// berth and, beside it, the containers' init, as make build lays them out.
	build := exec.Command("go", "build", "-o", dir+"/", "github.com/berthkit/berth/cmd/berth", "github.com/berthkit/berth/cmd/berth-init")
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
	// The notes' image, plus a whiteout and an opaque directory, which
	// overlay marks differently in a user namespace.
	dockerfile := "FROM busybox\n" +
		"RUN echo hello > /greeting && mkdir /data && chown 1000:1000 /data && mkdir -p /var/old && touch /var/old/a\n" +
		"RUN rm -rf /var && mkdir /var && touch /var/x && rm /bin/ls\n" +
		"CMD [\"cat\", \"/greeting\"]\n"
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
		"SOURCE_DATE_EPOCH=1700000000"}, e.extraEnv...)
	full = append(append(full, e.bin), args...)
	return run(e.t, exec.Command("runuser", full...))
}

// berthFails runs berth as the rootless user, wants it to fail, and
// returns stderr.
func (e *rootlessEnv) berthFails(args ...string) string {
	e.t.Helper()
	full := append([]string{"-u", rootlessUser, "--", "env", "-i", "HOME=" + e.home, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, e.extraEnv...)
	full = append(append(full, e.bin), args...)
	var errb bytes.Buffer
	cmd := exec.Command("runuser", full...)
	cmd.Stderr, cmd.Dir = &errb, "/"
	if err := cmd.Run(); err == nil {
		e.t.Fatalf("berth %s succeeded as %s, want an error", strings.Join(args, " "), rootlessUser)
	}
	return errb.String()
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
	if got := e.berth("run", "--rm", "notes", "sh", "-c", "ls -A /var; test -e /bin/ls || echo no-ls"); got != "x\nno-ls" {
		t.Fatalf("opaque /var and deleted /bin/ls: got %q", got)
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
	// A lesson runs live in rootless mode, and says so first.
	lesson := e.berth("lesson", "manual-commit", "--yes", "--base", "busybox")
	for _, want := range []string{"\nLIVE: real builds", "\nMode: rootless (", "all 3 checks held"} {
		if !strings.Contains(lesson, want) {
			t.Fatalf("lesson as %s lacks %q:\n%s", rootlessUser, want, lesson)
		}
	}
	root := t.TempDir()
	e.rootBerth(root, "bootstrap", "busybox")
	if rootID := e.rootBerth(root, "build", "-q", "-t", "notes", e.ctx); rootID != id {
		t.Fatalf("root build = %s, rootless build = %s: want the same image ID", rootID, id)
	}
}

// TestRootlessContainers runs a detached container as a normal user, execs
// into it from another berth, reaches its published port on loopback
// (through pasta), and checks that a limit without a delegated cgroup is
// refused with the reason.
func TestRootlessContainers(t *testing.T) {
	e := setupRootless(t)
	if _, err := exec.LookPath("pasta"); err != nil {
		if testenv.InCI() {
			t.Fatal("pasta is missing: make test-deps installs passt")
		}
		t.Skip("no pasta (apt-get install passt)")
	}
	e.berth("bootstrap", "busybox")
	e.berth("build", "-q", "-t", "notes", e.ctx)
	port := freePort(t)
	e.berth("run", "-d", "--name", "web", "-p", "127.0.0.1:"+port+":80", "notes", "httpd", "-f", "-p", "80", "-h", "/")
	t.Cleanup(func() {
		_ = exec.Command("runuser", "-u", rootlessUser, "--", "env", "HOME="+e.home, e.bin, "rm", "-f", "web").Run()
	})
	if got := e.berth("exec", "web", "cat", "/greeting"); got != "hello" {
		t.Fatalf("exec = %q, want hello", got)
	}
	body := httpGet(t, "http://127.0.0.1:"+port+"/greeting")
	if strings.TrimSpace(body) != "hello" {
		t.Fatalf("GET published port = %q, want hello", body)
	}
	e.berth("rm", "-f", "web")
	if _, err := exec.LookPath("slirp4netns"); err == nil {
		// Without pasta, slirp4netns: the container's tap0 has slirp's
		// address; ports cannot be published through it.
		e.extraEnv = []string{"BERTH_ROOTLESS_NET=slirp4netns"}
		if got := e.berth("run", "--rm", "notes", "sh", "-c", "ip -4 addr show tap0 | grep -o 'inet [0-9.]*'"); got != "inet 10.0.2.100" {
			t.Fatalf("slirp4netns address = %q", got)
		}
		msg := e.berthFails("run", "--rm", "-p", "127.0.0.1:"+port+":80", "notes", "true")
		if !strings.Contains(msg, "publishing ports in rootless mode needs pasta") {
			t.Fatalf("-p with slirp4netns: %s", msg)
		}
		e.extraEnv = nil
	}
	if d := e.berth("info"); strings.Contains(d, "Cgroups: none delegated") {
		msg := e.berthFails("run", "--rm", "--memory", "64m", "notes", "true")
		if !strings.Contains(msg, "rootless mode cannot apply the memory limit") || !strings.Contains(msg, "delegated") {
			t.Fatalf("--memory without delegation: %s", msg)
		}
	}
}

// TestRootlessFuseOverlayfs builds and runs with fuse-overlayfs instead of
// kernel overlayfs (what rootless mode uses where the kernel refuses
// overlayfs in a user namespace), whiteouts and opaque directories
// included.
func TestRootlessFuseOverlayfs(t *testing.T) {
	e := setupRootless(t)
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		if testenv.InCI() {
			t.Fatal("fuse-overlayfs is missing: make test-deps installs it")
		}
		t.Skip("no fuse-overlayfs")
	}
	e.extraEnv = []string{"BERTH_OVERLAY=fuse-overlayfs"}
	e.berth("bootstrap", "busybox")
	e.berth("build", "-q", "-t", "notes", e.ctx)
	if got := e.berth("run", "--rm", "notes", "sh", "-c", "grep -c fuse-overlayfs /proc/mounts; cat /greeting; ls -A /var; test -e /bin/ls || echo no-ls"); got != "1\nhello\nx\nno-ls" {
		t.Fatalf("fuse-overlayfs container: got %q", got)
	}
	e.berth("run", "--name", "c1", "notes", "sh", "-c", "rm -rf /data && mkdir /data && echo new > /data/n")
	e.berth("commit", "c1", "snap")
	if got := e.berth("run", "--rm", "snap", "find", "/data"); got != "/data\n/data/n" {
		t.Fatalf("committed opaque /data lists %q, want only /data/n", got)
	}
}

// TestRootlessSaveLoadPushPull moves the rootless build out and back in:
// save/load through an archive, push/pull through a registry on loopback
// (berth registry serve, run by root with a store of its own).
func TestRootlessSaveLoadPushPull(t *testing.T) {
	e := setupRootless(t)
	e.berth("bootstrap", "busybox")
	id := e.berth("build", "-q", "-t", "notes", e.ctx)
	archive := filepath.Join(e.home, "notes.tar")
	e.berth("save", "-o", archive, "notes")
	e.berth("rmi", "notes")
	e.berth("load", "-i", archive)
	if got := e.berth("inspect", "--format", "{{.Id}}", "notes"); got != id {
		t.Fatalf("loaded image %s, want %s", got, id)
	}

	port := freePort(t)
	serve := exec.Command(e.bin, "--root", t.TempDir(), "registry", "serve", "--addr", "127.0.0.1:"+port, "--allow-push")
	serve.Env = append(os.Environ(), "BERTH_REGISTRY_TOKEN=rootless-test-token")
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	// With --allow-push, /v2/ challenges (401); the token endpoint answers.
	httpGet(t, "http://127.0.0.1:"+port+"/token?service=berth-registry")
	ref := "127.0.0.1:" + port + "/course/notes:1"
	e.berth("login", "127.0.0.1:"+port, "-u", "berth", "-p", "rootless-test-token")
	e.berth("tag", "notes", ref)
	e.berth("push", ref)
	e.berth("rmi", "notes", ref)
	e.berth("pull", ref)
	if got := e.berth("inspect", "--format", "{{.Id}}", ref); got != id {
		t.Fatalf("pulled image %s, want %s", got, id)
	}
	if got := e.berth("run", "--rm", ref); got != "hello" {
		t.Fatalf("run pulled image = %q, want hello", got)
	}
}

// TestRootlessLessonDebian runs manual-commit live as a normal user on the
// Debian base with real redis: user-defined networks need root, so the
// lesson says so, shows the commands, never runs `network create`, and
// serves redis through the port pasta publishes; every claim holds.
// Needs the Debian mirror (apt-get install redis-server), as
// lesson_live_debian does.
func TestRootlessLessonDebian(t *testing.T) {
	if os.Getenv("BERTH_TEST_MIRROR") != "1" && !testenv.InCI() {
		t.Skip("needs the Debian mirror: set BERTH_TEST_MIRROR=1")
	}
	if _, err := exec.LookPath("pasta"); err != nil {
		if testenv.InCI() {
			t.Fatal("pasta is missing: make test-deps installs passt")
		}
		t.Skip("no pasta (apt-get install passt)")
	}
	e := setupRootless(t)
	e.extraEnv = append(e.extraEnv, rootlessBootstrapCache(t, e)...)
	out := e.berth("lesson", "manual-commit", "--yes", "--base", "debian", "--port", freePort(t))
	for _, want := range []string{
		"\nMode: rootless (",
		"user-defined networks need root",
		"    berth network create app\n",
		"\n$ berth run -d -p ",
		"PONG",
		"End of lesson manual-commit: all 4 checks held on the live trace.",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("rootless debian lesson lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "$ berth network") {
		t.Fatalf("rootless lesson ran a network command:\n%s", out)
	}
}

// rootlessBootstrapCache gives the rootless user root's cached Debian
// tarball (as lesson_live_debian reads it), so the lesson does not run
// mmdebstrap again: BERTH_BOOTSTRAP_CACHE and the snapshot's time. Without
// a cached tarball the lesson makes one (mmdebstrap and the mirror).
func rootlessBootstrapCache(t *testing.T, e *rootlessEnv) []string {
	t.Helper()
	src := filepath.Join(os.Getenv("HOME"), ".cache", "berth", "mmdebstrap")
	tars, _ := filepath.Glob(filepath.Join(src, "bookworm-*-minbase-*.tar"))
	if len(tars) == 0 {
		if _, err := exec.LookPath("mmdebstrap"); err != nil {
			t.Skip("no cached Debian tarball and no mmdebstrap")
		}
		return nil
	}
	tar := tars[len(tars)-1]
	epoch := strings.TrimSuffix(tar[strings.LastIndex(tar, "-")+1:], ".tar")
	dir := filepath.Join(e.home, "bootstrap-cache")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(tar))
	if err := os.Link(tar, dst); err != nil {
		if out, err := exec.Command("cp", tar, dst).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", tar, err, out)
		}
		if err := os.Chmod(dst, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The later SOURCE_DATE_EPOCH wins over berth's default in env(1).
	return []string{"BERTH_BOOTSTRAP_CACHE=" + dir, "SOURCE_DATE_EPOCH=" + epoch}
}
