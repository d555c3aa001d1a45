package testscripts

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/rogpeppe/go-internal/testscript"
)

// crashAtCmd runs berth so that it kills itself at a named crash point:
//
//	crashat POINT ARGS...
//
// runs `berth ARGS...` with BERTH_TEST_CRASH_AT=POINT (and the scenario's
// environment) and fails unless berth died of SIGKILL, so a point the
// command never reaches is a failure, not a silent pass. What berth printed
// before it died goes to the scenario's stdout and stderr.
func crashAtCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("crashat does not support negation")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: crashat POINT ARGS...")
	}
	bin, err := exec.LookPath("berth")
	ts.Check(err)
	cmd := exec.Command(bin, args[1:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = append(scenarioEnv(ts), crashpoint.EnvVar+"="+args[0])
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	ts.Stdout().Write([]byte(stdout.String()))
	ts.Stderr().Write([]byte(stderr.String()))
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		ts.Fatalf("berth %s did not crash at %s: %v", strings.Join(args[1:], " "), args[0], err)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		ts.Fatalf("berth %s ended with %v instead of crashing at %s\n%s", strings.Join(args[1:], " "), err, args[0], stderr.String())
	}
}

// scenarioEnv is the process environment with the scenario's variables
// that berth reads.
func scenarioEnv(ts *testscript.TestScript) []string {
	env := os.Environ()
	for _, k := range []string{"BERTH_ROOT", "HOME", "NO_COLOR", "PATH", "DOCKER_CONFIG"} {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}
