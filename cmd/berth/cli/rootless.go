package cli

import (
	"os"
	"strings"

	"github.com/berthkit/berth/engine"
)

// enterRootless runs berth in rootless mode when a normal user starts it
// (a user namespace where berth is root; see docs/rootless.md), unless it
// only talks to a daemon (--host, BERTH_HOST), asks for help or the
// version, or replays (see needsNoEngine): those need no engine, and a
// replay must work where user namespaces do not.
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
			if needsNoEngine(a, args[i+1:]) {
				return 0, false
			}
			return engine.EnterRootless(args, os.Stderr)
		}
	}
	return 0, false // no verb: help
}

// needsNoEngine says whether verb (with the words after it) only reads
// recordings or prints: trace views, a lesson replayed, lesson list and
// cat, version, help and completion. They run outside the user namespace,
// so they start no namespace holder for a user who only replays.
func needsNoEngine(verb string, rest []string) bool {
	switch verb {
	case "trace", "version", "help", "completion":
		return true
	case "lesson":
		if len(rest) > 0 && (rest[0] == "list" || rest[0] == "cat") {
			return true
		}
		for _, a := range rest {
			if a == "--replay" {
				return true
			}
		}
	}
	return false
}
