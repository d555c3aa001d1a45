// Package crashpoint lets tests kill a berth process at a named instant, to
// check that a crash there loses nothing. Setting BERTH_TEST_CRASH_AT=<point>
// makes the process send itself SIGKILL when it reaches Hit(<point>): no
// deferred cleanup runs, exactly as with `kill -9`. Without the variable a
// Hit costs one comparison of a string read once.
//
// The points are listed in docs/store.md ("Crash safety"); each names the
// step that has just completed, such as "pull.layers-stored" (every blob of a
// pull is stored, nothing tagged yet).
package crashpoint

import (
	"os"
	"sync"
)

// EnvVar names the point to crash at.
const EnvVar = "BERTH_TEST_CRASH_AT"

var target = sync.OnceValue(func() string { return os.Getenv(EnvVar) })

// Hit kills the process with SIGKILL if point is the one BERTH_TEST_CRASH_AT
// names.
func Hit(point string) {
	if t := target(); t != "" && t == point {
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Kill() // SIGKILL on Unix, TerminateProcess on Windows
		}
		// SIGKILL is not delivered synchronously on every kernel path:
		// never carry on past the point.
		select {}
	}
}
