//go:build linux

package testscripts

import (
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// tmpStoreCmd puts the scenario's store on a file system of its own, so
// that a scenario can fill it:
//
//	tmpstore SIZE
//
// mounts a tmpfs of SIZE (tmpfs's syntax: 16m) on $BERTH_ROOT. At the end
// of the scenario it removes the containers still there (their overlay
// mounts sit on it), unmounts what is left below it, and unmounts it.
func tmpStoreCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("tmpstore does not support negation")
	}
	if len(args) != 1 || strings.ContainsAny(args[0], ",=") {
		ts.Fatalf("usage: tmpstore SIZE")
	}
	root := ts.Getenv("BERTH_ROOT")
	ts.Check(os.MkdirAll(root, 0o700))
	ts.Check(unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700,size="+args[0]))
	path := ts.Getenv("PATH")
	ts.Defer(func() {
		removeContainers(&testscript.Env{Vars: []string{"PATH=" + path}}, root)
		leaked := mountsUnder(root)
		for i := len(leaked) - 1; i >= 0; i-- {
			_ = unix.Unmount(leaked[i], unix.MNT_DETACH)
		}
		if err := unix.Unmount(root, unix.MNT_DETACH); err != nil {
			ts.Logf("unmount the small store %s: %v", root, err)
		}
	})
}
