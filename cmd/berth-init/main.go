// Command berth-init is the init of berth's containers: berth starts it
// (from a sealed read-only view, never the file itself) as PID 1 of each new
// container, and it builds the container's world and executes the
// container's process. It is installed beside berth and links only
// engine/runtime, so that every container start and every RUN step pays for
// a small binary's start-up rather than the whole CLI's (docs/performance.md).
//
// It is not meant to be run by hand: berth passes it the container's spec on
// descriptors it opens for it.

// The init never changes its CPU affinity or cgroup while it runs: the
// goroutine that would re-read the cgroup's CPU limit for GOMAXPROCS
// (Go 1.25's updatemaxprocs) is one more goroutine to start for nothing.
//
//go:debug updatemaxprocs=0
package main

import (
	"fmt"
	"os"

	"github.com/berthkit/berth/engine/runtime"
)

func main() {
	// The usual path never gets here: engine/runtime's init function runs
	// the container's init as soon as that package is initialized.
	if len(os.Args) > 1 && os.Args[1] == runtime.InitVerb {
		os.Exit(runtime.Init(os.Args[2:]))
	}
	fmt.Fprintln(os.Stderr, "berth-init is the init of berth's containers and is started by berth; run berth instead (berth run --help)")
	os.Exit(2)
}
