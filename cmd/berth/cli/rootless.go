package cli

import (
	"os"
	"strings"

	"github.com/berthkit/berth/engine"
)

// enterRootless runs berth in rootless mode when a normal user starts it
// (a user namespace where berth is root; see docs/rootless.md), unless it
// only talks to a daemon (--host, BERTH_HOST) or asks for help or the
// version, which need no engine.
func enterRootless(args []string) (int, bool) {
	if os.Getenv("BERTH_HOST") != "" {
		return 0, false
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--host" || strings.HasPrefix(a, "--host=") || a == "--version" || a == "-h" || a == "--help" {
			return 0, false
		}
	}
	return engine.EnterRootless(args, os.Stderr)
}
