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
	// Global flags come before the verb; what follows it (a container's
	// command line) is not berth's.
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--host" || strings.HasPrefix(a, "--host=") || a == "--version" || a == "-h" || a == "--help":
			return 0, false
		case a == "--root":
			i++ // its value
		case !strings.HasPrefix(a, "-"):
			return engine.EnterRootless(args, os.Stderr)
		}
	}
	return 0, false // no verb: help
}
