package testscripts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/internal/testenv"
)

// tmuxSession drives berth through real terminals: a tmux server of the
// test's own (its own socket), whose panes are ptys, typed into with
// send-keys and read with capture-pane.
type tmuxSession struct {
	t    *testing.T
	sock string
	env  string // "export ...;" prefix for every shell
}

func newTmux(t *testing.T, env map[string]string) *tmuxSession {
	t.Helper()
	testenv.RequireOverlay(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		if testenv.InCI() {
			t.Fatal("CI=true and tmux is missing (apt-get install tmux)")
		}
		t.Skip("needs tmux")
	}
	if _, err := exec.LookPath("busybox"); err != nil {
		if testenv.InCI() {
			t.Fatal("CI=true and busybox is missing")
		}
		t.Skip("needs busybox-static")
	}
	// The test binary is berth when called by that name (testscript.Main).
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "berth")); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "export PATH=%s:$PATH NO_COLOR=1;", bin)
	for k, v := range env {
		fmt.Fprintf(&b, " export %s=%q;", k, v)
	}
	s := &tmuxSession{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock"), env: b.String()}
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// window opens a window running a shell with the test's environment.
func (s *tmuxSession) window(name string) {
	if _, err := os.Stat(s.sock); err != nil {
		s.tmux("new-session", "-d", "-s", "t", "-n", name, "-x", "200", "-y", "60")
	} else {
		s.tmux("new-window", "-t", "t", "-n", name)
	}
	s.tmux("set-option", "-t", "t", "history-limit", "5000")
	s.typeLine(name, s.env)
}

// typeLine types text and Enter into a window's pane, as a person would.
func (s *tmuxSession) typeLine(name, text string) {
	s.tmux("send-keys", "-t", "t:"+name, "-l", text)
	s.tmux("send-keys", "-t", "t:"+name, "Enter")
}

func (s *tmuxSession) screen(name string) string {
	return s.tmux("capture-pane", "-p", "-J", "-t", "t:"+name, "-S", "-3000")
}

// waitFor waits until a window shows a match of re and returns it. The
// deadline only turns a hang into a failure with the screen shown; it
// asserts nothing about speed.
func (s *tmuxSession) waitFor(name, re string) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(90 * time.Second)
	for {
		scr := s.screen(name)
		if m := rx.FindStringSubmatch(scr); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			others := s.tmux("list-windows", "-t", "t", "-F", "#{window_name}")
			for _, w := range strings.Fields(others) {
				if w != name {
					s.t.Logf("window %s shows:\n%s", w, strings.TrimRight(s.screen(w), "\n"))
				}
			}
			s.t.Fatalf("window %s never showed %q; it shows:\n%s", name, re, strings.TrimRight(scr, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func bootstrapUserRoot(t *testing.T, base string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "user")
	if out, err := runAsBerth(root, "bootstrap", base); err != nil {
		t.Fatalf("bootstrap %s: %v: %s", base, err, out)
	}
	return root
}

// runAsBerth runs the test binary as berth.
func runAsBerth(root string, args ...string) ([]byte, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "berth-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	link := filepath.Join(dir, "berth")
	if err := os.Symlink(self, link); err != nil {
		return nil, err
	}
	return exec.Command(link, append([]string{"--root", root}, args...)...).CombinedOutput()
}

// TestLessonManualCommitInteractive does the notes' manual flow by hand in
// real terminals: the lesson in one window, `berth run -it busybox sh` and
// the install typed in a second, ps/images/inspect/logs and commit and run
// in a third. The read-only verbs return while the interactive container
// runs and the lesson waits; the lesson notices every step and ends 0.
func TestLessonManualCommitInteractive(t *testing.T) {
	manualCommitByHand(t, "busybox",
		`mkdir -p /var/lib/redis && printf '#!/bin/sh\necho "redis-server (stand-in): ready to accept connections"\n' > /usr/local/bin/redis-server && chmod +x /usr/local/bin/redis-server`,
		"/usr/local/bin/redis-server", `redis-server \(stand-in\): ready to accept connections`)
}

// TestLessonManualCommitInteractiveDebian is the same with the real redis,
// installed by typing apt-get into the container's shell, and the lesson's
// PONG. It needs the Debian mirror: it runs under CI=true or with
// BERTH_TEST_MIRROR=1 (mmdebstrap's tarball comes from
// $BERTH_BOOTSTRAP_CACHE, shared with the testscripts).
func TestLessonManualCommitInteractiveDebian(t *testing.T) {
	if os.Getenv("BERTH_TEST_MIRROR") != "1" && !testenv.InCI() {
		t.Skip("needs the Debian mirror: set BERTH_TEST_MIRROR=1")
	}
	if os.Getenv("BERTH_BOOTSTRAP_CACHE") == "" {
		t.Setenv("BERTH_BOOTSTRAP_CACHE", filepath.Join(os.TempDir(), "berth-test-mmdebstrap"))
	}
	manualCommitByHand(t, "debian", "apt-get update && apt-get install -y redis-server",
		"/usr/bin/redis-server", `Ready to accept connections`)
	// (manualCommitByHand checks the lesson's PONG on this base.)
}

func manualCommitByHand(t *testing.T, base, install, installed, started string) {
	if base == "busybox" || base == "debian" {
		testenv.RequireRoot(t)
	}
	s := newTmux(t, nil)
	user := bootstrapUserRoot(t, base)
	s.env += fmt.Sprintf(" export BERTH_ROOT=%q TMPDIR=%q;", user, t.TempDir())
	s.window("lesson")
	s.typeLine("lesson", "berth lesson manual-commit --base "+base+"; echo LESSON-EXIT=$?")
	root := s.waitFor("lesson", `(?m)^    export BERTH_ROOT=(\S+/root)$`)[1]
	s.waitFor("lesson", `berth run -it `+base+` sh`)

	// Terminal 1: the shell in a container, and the install typed into it.
	s.window("shell")
	s.typeLine("shell", "export BERTH_ROOT="+root+"; berth run -it "+base+" sh")
	box := s.waitFor("lesson", `✓ container ([0-9a-f]{12}) is running sh from image [0-9a-f]{12}`)[1]
	s.waitFor("lesson", regexp.QuoteMeta(install))
	s.typeLine("shell", install+" && echo INSTALLED")
	s.waitFor("shell", `(?m)^INSTALLED`)
	s.waitFor("lesson", `✓ `+regexp.QuoteMeta(installed)+` is in the container's own files now \(\d+ paths added or changed`)
	s.waitFor("lesson", `waiting for a new image with CMD \["redis-server"\]`)

	// Terminal 2: the read-only verbs answer while the shell runs and the
	// lesson waits, then commit and run.
	s.window("second")
	s.typeLine("second", "export BERTH_ROOT="+root+"; berth ps -a; echo PS-DONE=$?")
	s.waitFor("second", `(?m)^`+box+` +`+base+` +"sh" .* Up .*\n(.*\n)*PS-DONE=0`)
	s.typeLine("second", "berth images -q | sort -u | wc -l; berth inspect "+box+" >/dev/null; echo INSPECT=$?; berth logs "+box+" >/dev/null; echo LOGS=$?")
	s.waitFor("second", `(?m)^1\n(.*\n)*INSPECT=0\nLOGS=0`)
	s.typeLine("second", `berth commit -c 'CMD ["redis-server"]' `+box)
	img := s.waitFor("lesson", `✓ commit saved image ([0-9a-f]{12}): 2 layers`)[1]
	s.typeLine("second", "berth run "+img)
	s.waitFor("second", started)
	s.waitFor("lesson", `✓ container [0-9a-f]{12} runs redis-server from your image\.`)
	if base != "busybox" {
		s.waitFor("lesson", "✓ redis answers: `berth exec [0-9a-f]{12} redis-cli ping` says PONG[.]")
	}
	steps := map[bool]string{true: "4", false: "5"}[base == "busybox"]
	s.waitFor("lesson", `End of lesson manual-commit: all `+steps+` steps were seen in the store\.\n(.*\n)*LESSON-EXIT=0`)
	// The lesson removed its containers and its root.
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("the lesson's root %s is still there: %v", root, err)
	}
}

// TestLessonManualCommitCtrlC stops the waiting lesson with Ctrl-C, and a
// `berth ps -a` in another terminal returns while it waits.
func TestLessonManualCommitCtrlC(t *testing.T) {
	s := newTmux(t, nil)
	user := bootstrapUserRoot(t, "busybox")
	s.env += fmt.Sprintf(" export BERTH_ROOT=%q TMPDIR=%q;", user, t.TempDir())
	s.window("lesson")
	s.typeLine("lesson", "berth lesson manual-commit --base busybox; echo LESSON-EXIT=$?")
	root := s.waitFor("lesson", `(?m)^    export BERTH_ROOT=(\S+/root)$`)[1]
	s.waitFor("lesson", `waiting for a running container from busybox`)
	s.window("second")
	s.typeLine("second", "export BERTH_ROOT="+root+"; berth ps -a; echo PS-DONE=$?")
	s.waitFor("second", `(?m)^CONTAINER ID +IMAGE .*\nPS-DONE=0`)
	s.tmux("send-keys", "-t", "t:lesson", "C-c")
	s.waitFor("lesson", `Lesson manual-commit stopped\.\n(.*\n)*LESSON-EXIT=130`)
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("the lesson's root %s is still there after Ctrl-C: %v", root, err)
	}
}

// TestLessonManualCommitShellExitsEarly: the attendee leaves the shell
// before installing redis. The lesson says so plainly, says what to do next,
// and exits 1; it does not go on as if the step had happened.
func TestLessonManualCommitShellExitsEarly(t *testing.T) {
	s := newTmux(t, nil)
	user := bootstrapUserRoot(t, "busybox")
	s.env += fmt.Sprintf(" export BERTH_ROOT=%q TMPDIR=%q;", user, t.TempDir())
	s.window("lesson")
	s.typeLine("lesson", "berth lesson manual-commit --base busybox; echo LESSON-EXIT=$?")
	root := s.waitFor("lesson", `(?m)^    export BERTH_ROOT=(\S+/root)$`)[1]
	s.window("shell")
	s.typeLine("shell", "export BERTH_ROOT="+root+"; berth run -it busybox sh")
	box := s.waitFor("lesson", `✓ container ([0-9a-f]{12}) is running sh`)[1]
	s.waitFor("lesson", `waiting for redis-server in container`)
	s.typeLine("shell", "exit 3")
	s.waitFor("lesson", `✗ The lesson stops here: container `+box+` stopped \(exited\) before redis was installed: start again with `+"`berth lesson manual-commit`")
	s.waitFor("lesson", `What next: run the lesson again, or go on without root or network with the build the real engine recorded: berth lesson manual-commit --replay\n(.*\n)*LESSON-EXIT=1`)
	if strings.Contains(s.screen("lesson"), "End of lesson") {
		t.Error("the lesson narrated an end after the failure")
	}
}
