package crashpoint

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// A process that reaches its named point dies of SIGKILL; other points
// pass.
func TestHitKills(t *testing.T) {
	if os.Getenv("CRASHPOINT_CHILD") == "1" {
		Hit("other.point")
		os.Stdout.WriteString("passed other\n")
		Hit("test.point")
		os.Stdout.WriteString("survived\n")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHitKills$")
	cmd.Env = append(os.Environ(), "CRASHPOINT_CHILD=1", EnvVar+"=test.point")
	out, err := cmd.Output()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("child did not die: err %v, output %q", err, out)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", ws)
	}
	if string(out) != "passed other\n" {
		t.Fatalf("output %q", out)
	}
}
