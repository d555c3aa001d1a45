package engine

import (
	"io"
	"os"
	"path/filepath"

	"github.com/berthkit/berth/engine/runtime"
)

// EnterRootless re-executes berth in rootless mode when a normal user runs
// it (see runtime.EnterRootless): it returns the exit code and true when
// it did, false when the caller goes on in this process.
func EnterRootless(args []string, warn io.Writer) (int, bool) {
	return runtime.EnterRootless(args, warn)
}

// Modes of the engine, as `berth info` and the lessons name them.
const (
	ModeRoot     = "root"
	ModeRootless = "rootless"
	ModeReplay   = "replay"
)

// Rootless reports whether Mode is ModeRootless, without Mode's look at
// the user namespace (a read of /proc/self/uid_map) that only the other
// modes need: every berth process without BERTH_ROOT asks, to pick its store.
func Rootless() bool {
	ok, _ := runtime.Rootless()
	return ok
}

// Mode says how this berth runs containers and why: root (real root),
// rootless (root of its own user namespace) or replay (no engine: not
// Linux, or neither root nor a user namespace).
func Mode() (mode, why string) {
	if ok, ids := runtime.Rootless(); ok {
		if ids == "single" {
			return ModeRootless, "berth runs as a normal user in a user namespace mapping only that user's ID (no /etc/subuid range): files owned by other users cannot be made"
		}
		return ModeRootless, "berth runs as a normal user in a user namespace mapping /etc/subuid and /etc/subgid (newuidmap)"
	}
	if os.Geteuid() == 0 && !runtime.InUserNS() {
		return ModeRoot, "berth runs as root"
	}
	if os.Geteuid() == 0 {
		return ModeRoot, "berth runs as root of a user namespace it was started in"
	}
	why = runtime.RootlessUnavailable()
	if why == "" {
		why = "berth is not root and could not enter a user namespace"
	}
	return ModeReplay, why
}

// RootlessRoot is the default store of a rootless berth:
// $XDG_DATA_HOME/berth, or ~/.local/share/berth.
func RootlessRoot() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "berth")
	}
	home := os.Getenv("HOME")
	if home == "" {
		home = "/"
	}
	return filepath.Join(home, ".local", "share", "berth")
}
