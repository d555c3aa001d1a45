//go:build linux

package testscripts

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// killLoadCmd kills a load halfway:
//
//	killload ARCHIVE
//
// runs `berth load` on $BERTH_ROOT, feeds it the first half of ARCHIVE,
// waits until it has staged files under $BERTH_ROOT/tmp, and kills it with
// SIGKILL, as a crash or `kill -9` would. The staging files stay behind for
// the next berth command to clean.
func killLoadCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("killload does not support negation")
	}
	if len(args) != 1 {
		ts.Fatalf("usage: killload ARCHIVE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	bin, err := exec.LookPath("berth")
	ts.Check(err)
	root := ts.Getenv("BERTH_ROOT")
	cmd := exec.Command(bin, "load")
	cmd.Env = append(os.Environ(), "BERTH_ROOT="+root, "NO_COLOR=1")
	stdin, err := cmd.StdinPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Feed half and keep the pipe open: berth blocks reading the rest.
	_, err = stdin.Write(data[:len(data)/2])
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	for !stagedSomething(filepath.Join(root, "tmp")) {
		select {
		case err := <-exited:
			ts.Fatalf("berth load exited before it was killed: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			ts.Fatalf("berth load staged nothing under %s/tmp in 30s", root)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Check(cmd.Process.Signal(syscall.SIGKILL))
	<-exited
	stdin.Close()
}

// stagedSomething reports whether a load staging dir under tmp holds a file.
func stagedSomething(tmp string) bool {
	found := false
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "load-") {
			continue
		}
		_ = filepath.WalkDir(filepath.Join(tmp, e.Name()), func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				found = true
				return io.EOF
			}
			return nil
		})
	}
	return found
}

// tmpEmptyCmd checks the store's scratch space:
//
//	[!] tmpempty
//
// passes when $BERTH_ROOT/tmp has no entries (with !, when it has some).
func tmpEmptyCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 0 {
		ts.Fatalf("usage: tmpempty")
	}
	entries, err := os.ReadDir(filepath.Join(ts.Getenv("BERTH_ROOT"), "tmp"))
	if err != nil && !os.IsNotExist(err) {
		ts.Fatalf("read tmp: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	switch {
	case neg && len(names) == 0:
		ts.Fatalf("$BERTH_ROOT/tmp is empty")
	case !neg && len(names) > 0:
		ts.Fatalf("$BERTH_ROOT/tmp holds %s", strings.Join(names, ", "))
	}
}

// imageIDCmd names an image's ID for the rest of a scenario:
//
//	imageid VAR IMAGE
//
// sets $VAR to IMAGE's 12-hex ID (from `berth images -q`) and $VAR_FULL to
// its sha256:... form.
func imageIDCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("imageid does not support negation")
	}
	if len(args) != 2 {
		ts.Fatalf("usage: imageid VAR IMAGE")
	}
	bin, err := exec.LookPath("berth")
	ts.Check(err)
	cmd := exec.Command(bin, "image", "inspect", "--format", "{{.Id}}", args[1])
	cmd.Env = append(os.Environ(), "BERTH_ROOT="+ts.Getenv("BERTH_ROOT"), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		ts.Fatalf("berth image inspect %s: %v\n%s", args[1], err, out)
	}
	full := strings.TrimSpace(string(out))
	if !strings.HasPrefix(full, "sha256:") || len(full) != 71 {
		ts.Fatalf("berth image inspect %s printed %q", args[1], full)
	}
	ts.Setenv(args[0], full[7:19])
	ts.Setenv(args[0]+"_FULL", full)
}
