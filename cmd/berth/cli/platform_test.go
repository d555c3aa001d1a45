package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// platformCheck finds the command args name, parses its flags, and returns
// what needsLinux says about it on goos.
func platformCheck(t *testing.T, goos, host string, args ...string) error {
	t.Helper()
	root := newRootCmd(&globalOptions{})
	root.InitDefaultHelpCmd() // as Execute does
	root.InitDefaultCompletionCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		t.Fatalf("find %q: %v", args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("flags of %q: %v", args, err)
	}
	return needsLinux(cmd, goos, host)
}

func TestNeedsLinuxRefusesEngineVerbsOffLinux(t *testing.T) {
	for _, goos := range []string{"darwin", "windows"} {
		for _, args := range [][]string{
			{"run", "--rm", "busybox", "echo", "hi"},
			{"create", "busybox"},
			{"exec", "c1", "ls"},
			{"ps", "-a"},
			{"commit", "c1"},
			{"build", "-t", "x", "."},
			{"bootstrap", "busybox"},
			{"import", "rootfs.tar"},
			{"daemon"},
			{"container", "run", "busybox"},
			{"container", "ps"},
			{"image", "import", "rootfs.tar"},
			{"stop", "c1"}, {"rm", "-f", "c1"}, {"logs", "c1"}, {"top", "c1"}, {"diff", "c1"},
			{"container", "prune"},
		} {
			err := platformCheck(t, goos, "", args...)
			if !errors.Is(err, engine.ErrNeedsLinux) {
				t.Errorf("%s: berth %s: got %v, want a needs-Linux error", goos, strings.Join(args, " "), err)
				continue
			}
			var nl *engine.NeedsLinuxError
			if !errors.As(err, &nl) || !strings.HasPrefix(nl.Verb, args[0]) {
				t.Errorf("%s: berth %s: the error names verb %q", goos, strings.Join(args, " "), nl.Verb)
			}
		}
	}
}

func TestNeedsLinuxLetsReplayVerbsRun(t *testing.T) {
	for _, goos := range []string{"darwin", "windows", "linux"} {
		for _, args := range [][]string{
			{"lesson", "build-cache", "--replay", "--yes"},
			{"lesson", "list"},
			{"trace", "show", "t.jsonl"},
			{"trace", "explain", "t.jsonl"},
			{"trace", "html", "t.jsonl"},
			{"build", "--explain", "."},
			{"build", "--explain=true", "-t", "x", "."},
			{"images"},
			{"pull", "busybox"},
			{"save", "busybox"},
			{"version"},
			{"container"},
			{"image", "ls"}, {"image", "prune", "-a"}, {"rmi", "x"}, {"tag", "a", "b"},
			{"inspect", "x"}, {"history", "x"}, {"load", "-i", "x.tar"}, {"system", "df"},
			{"help", "run"}, {"completion", "bash"},
		} {
			if err := platformCheck(t, goos, "", args...); err != nil {
				t.Errorf("%s: berth %s: %v", goos, strings.Join(args, " "), err)
			}
		}
	}
}

func TestNeedsLinuxNotWithARemoteDaemonOrOnLinux(t *testing.T) {
	if err := platformCheck(t, "darwin", "tcp://127.0.0.1:2375", "run", "busybox"); err != nil {
		t.Errorf("run --host on darwin: %v (a Linux daemon runs it)", err)
	}
	if err := platformCheck(t, "linux", "", "run", "busybox"); err != nil {
		t.Errorf("run on linux: %v", err)
	}
	if err := platformCheck(t, "darwin", "", "build", "--explain=false", "."); !errors.Is(err, engine.ErrNeedsLinux) {
		t.Errorf("build --explain=false on darwin: got %v, want needs Linux", err)
	}
}

// The refusal reaches the user as Docker prints errors: "Error: ..." and
// exit 1, with no engine opened.
func TestNeedsLinuxMessage(t *testing.T) {
	err := &engine.NeedsLinuxError{Verb: "run"}
	want := "berth run needs Linux (namespaces and overlayfs); on this machine use 'berth lesson <name> --replay'"
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err.Error(), want)
	}
	var stderr bytes.Buffer
	g := &globalOptions{root: t.TempDir(), stdout: &bytes.Buffer{}, stderr: &stderr}
	cmd := newRootCmd(g)
	cmd.SetArgs([]string{"--root", g.root, "run", "busybox"})
	cmd.SetOut(g.stdout)
	cmd.SetErr(g.stderr)
	// Through the real pre-run hook, with a darwin check swapped in.
	pre := cmd.PersistentPreRunE
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if err := pre(c, args); err != nil {
			return err
		}
		return needsLinux(c, "darwin", g.host)
	}
	if err := cmd.Execute(); !errors.Is(err, engine.ErrNeedsLinux) {
		t.Fatalf("run on darwin: got %v", err)
	}
	if g.eng != nil {
		t.Error("the engine was opened before the refusal")
	}
}
