package build

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// An uncached step's probe reads a fixed number of cache files however many
// builds were made on the same parent before (it used to read every entry
// of the parent and look up every entry's image), and still names the
// instruction built last.
func TestMissProbeReadsFewCacheFiles(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine\n"})
	df := filepath.Join(dir, "Dockerfile")
	reads := func(n int) int64 {
		for i := range n {
			require.NoError(t, os.WriteFile(df, fmt.Appendf(nil, "FROM alpine\nRUN echo %d-%d\n", n, i), 0o644))
			build(t, f, dir, Options{})
		}
		require.NoError(t, os.WriteFile(df, []byte("FROM alpine\nRUN echo new\n"), 0o644))
		before := f.s.CacheFilesRead()
		plan := build(t, f, dir, Options{Explain: true})
		require.Equal(t, ReasonInstructionChanged, plan.Steps[1].Reason)
		require.Contains(t, plan.Steps[1].Explanation, fmt.Sprintf("`RUN echo %d-%d`", n, n-1))
		return f.s.CacheFilesRead() - before
	}
	few := reads(2)
	many := reads(60)
	require.LessOrEqual(t, few, int64(3))
	require.Equal(t, few, many, "cache files read by a miss with 2 and with 62 entries on the parent")
}

// A changed COPY source is found through the group index.
func TestMissProbeNamesChangedCopySource(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine\nCOPY a /app/\n", "a": "one"})
	build(t, f, dir, Options{})
	for i := range 5 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), fmt.Appendf(nil, "FROM alpine\nRUN echo %d\n", i), 0o644))
		build(t, f, dir, Options{})
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM alpine\nCOPY a /app/\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), []byte("two"), 0o644))
	plan := build(t, f, dir, Options{Explain: true})
	require.Equal(t, ReasonSourceChanged, plan.Steps[1].Reason)
	require.Contains(t, plan.Steps[1].Explanation, ": a")
}
