package runtime

import (
	"os"
	"sync"

	"github.com/berthkit/berth/internal/plainfile"
)

// devNull is /dev/null opened once for reading, the standard input of
// every init started without one (a build's RUN step, a spare): exec.Cmd
// opens (through the poller) and closes /dev/null for each start that
// leaves Stdin nil. It is close-on-exec; a start hands the child its own
// copy as fd 0, and concurrent starts may share it.
var devNull = sync.OnceValues(func() (*os.File, error) {
	return plainfile.Open(os.DevNull)
})
