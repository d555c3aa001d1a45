package build

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Each RUN step's container says whether another RUN step follows in the
// build, across stages and past other steps: the backend starts the next
// step's init ahead only then, so the last RUN leaves no spare to discard.
func TestMoreRunsUntilTheLastRun(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{
		"x": "x\n",
		"Dockerfile": "FROM alpine AS a\nRUN echo one\nCOPY x /x\nRUN echo two\n" +
			"FROM alpine\nENV A=1\nCOPY --from=a /x /y\nRUN echo three\nCMD [\"sh\"]\n",
	})
	build(t, f, dir, Options{NoCache: true})
	require.Equal(t, []bool{true, true, false}, f.moreRuns)

	// A single RUN step has none after it.
	f = newFake(t)
	f.base(t, "alpine")
	build(t, f, writeContext(t, map[string]string{"Dockerfile": "FROM alpine\nRUN true\nCMD [\"sh\"]\n"}), Options{NoCache: true})
	require.Equal(t, []bool{false}, f.moreRuns)
}
