//go:build linux

package testscripts

import (
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// sharedPrefixCmd finds a container ID prefix that names two containers:
//
//	sharedprefix VAR
//
// sets $VAR to the shortest prefix that at least two of the scenario's
// containers (`berth ps -aq --no-trunc`) start with.
func sharedPrefixCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sharedprefix VAR")
	}
	bin, err := exec.LookPath("berth")
	ts.Check(err)
	cmd := exec.Command(bin, "ps", "-a", "-q", "--no-trunc")
	cmd.Env = append(os.Environ(), "BERTH_ROOT="+ts.Getenv("BERTH_ROOT"), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		ts.Fatalf("berth ps: %v\n%s", err, out)
	}
	ids := strings.Fields(string(out))
	for n := 1; n <= 64; n++ {
		seen := map[string]bool{}
		for _, id := range ids {
			if len(id) < n {
				continue
			}
			if seen[id[:n]] {
				ts.Setenv(args[0], id[:n])
				return
			}
			seen[id[:n]] = true
		}
	}
	ts.Fatalf("no two of %d containers share a prefix", len(ids))
}

// prefixCmd cuts a value short:
//
//	prefix VAR N VALUE
//
// sets $VAR to the first N characters of VALUE (an ID's short forms).
func prefixCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: prefix VAR N VALUE")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 || n > len(args[2]) {
		ts.Fatalf("prefix: N must be 0..%d", len(args[2]))
	}
	ts.Setenv(args[0], args[2][:n])
}

// fileEnvCmd reads a value a command printed:
//
//	fileenv VAR FILE
//
// sets $VAR to FILE's content without surrounding white space.
func fileEnvCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fileenv VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}
