//go:build linux

package testscripts

import (
	"os/exec"
	"regexp"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// tmuxPatience bounds how long tmuxwait polls a pane. It is not a timing
// assertion: on a loaded machine the screen only takes longer to appear.
const tmuxPatience = 60 * time.Second

// tmuxStartCmd runs a command in a terminal of its own (a tmux server on a
// private socket, 120x40), removed when the scenario ends:
//
//	tmuxstart SOCKET COMMAND
func tmuxStartCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tmuxstart SOCKET COMMAND")
	}
	sock := ts.MkAbs(args[0])
	cmd := exec.Command("tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40", args[1])
	cmd.Env = append(scenarioEnv(ts), "TERM=xterm-256color")
	cmd.Dir = ts.Getenv("WORK")
	if out, err := cmd.CombinedOutput(); err != nil {
		ts.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	ts.Defer(func() { _ = exec.Command("tmux", "-S", sock, "kill-server").Run() })
}

// tmuxWaitCmd polls the pane until REGEX matches its text, or with ! until
// the session has ended (SOCKET only):
//
//	tmuxwait SOCKET REGEX
//	! tmuxwait SOCKET
func tmuxWaitCmd(ts *testscript.TestScript, neg bool, args []string) {
	if (neg && len(args) != 1) || (!neg && len(args) != 2) {
		ts.Fatalf("usage: tmuxwait SOCKET REGEX | ! tmuxwait SOCKET")
	}
	sock := ts.MkAbs(args[0])
	var re *regexp.Regexp
	if !neg {
		re = regexp.MustCompile("(?m)" + args[1])
	}
	deadline := time.Now().Add(tmuxPatience)
	var screen []byte
	for time.Now().Before(deadline) {
		out, err := exec.Command("tmux", "-S", sock, "capture-pane", "-p").Output()
		if neg && err != nil {
			return // the session (and its server) ended
		}
		screen = out
		if !neg && re.Match(out) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	if neg {
		ts.Fatalf("the session is still running after %s:\n%s", tmuxPatience, screen)
	}
	ts.Fatalf("no match for %q on the screen after %s:\n%s", args[1], tmuxPatience, screen)
}
