package build

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// A step's cache entry is written while the next step runs (putCache), but
// a probe in the same build that looks for it, a later stage repeating an
// earlier one's step on the same base, finds it: the write is joined
// first.
func TestSameBuildFindsTheEntryItIsWriting(t *testing.T) {
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM alpine AS one\nRUN echo same\nFROM alpine\nRUN echo same\n",
	})
	for i := 0; i < 20; i++ {
		// A fresh tree each round, so the first stage always misses.
		f := newFake(t)
		f.base(t, "alpine")
		res := build(t, f, dir, Options{})
		require.Equal(t, []bool{false, false, false, true}, cachedSteps(res), "round %d", i)
	}
}

// Every step's entry is in place when the build returns: the write in
// flight is joined at the end, and the next build hits every step.
func TestEveryCacheEntryIsInPlaceWhenTheBuildReturns(t *testing.T) {
	f := newFake(t)
	alpine := f.base(t, "alpine")
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM alpine\nRUN echo 1\nRUN echo 2\nRUN echo 3\nCMD [\"sh\"]\n",
	})
	res := build(t, f, dir, Options{NoCache: true})
	parent := alpine.ID
	for _, st := range res.Steps[1:] {
		entries, err := f.s.CacheEntries(parent)
		require.NoError(t, err)
		require.Len(t, entries, 1, "entries on top of %s", parent)
		require.Equal(t, st.Image, entries[0].Image)
		parent = st.Image
	}
	again := build(t, f, dir, Options{})
	require.Equal(t, []bool{false, true, true, true, true}, cachedSteps(again))
}

// A cache entry that cannot be written fails the build, as before it was
// written in the background, and the error names the step it was for.
func TestAFailedCacheWriteFailsTheBuildAtItsStep(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	// A file where the cache directory should be: no entry can be made.
	require.NoError(t, os.RemoveAll(f.s.CacheDir()))
	require.NoError(t, os.WriteFile(f.s.CacheDir(), nil, 0o600))
	for _, df := range []string{
		"FROM alpine\nRUN echo 1\n",              // the last step: joined at the end
		"FROM alpine\nRUN echo 1\nRUN echo 2\n",  // joined before the next entry
		"FROM alpine\nRUN echo 1\nFROM alpine\n", // joined at the end, after another stage
	} {
		dir := writeContext(t, map[string]string{"Dockerfile": df})
		_, err := Build(context.Background(), f, Options{ContextDir: dir, Remove: true, NoCache: true})
		require.Error(t, err, df)
		var se *StepError
		require.True(t, errors.As(err, &se), "%v", err)
		require.Equal(t, 2, se.Step, "%v", err)
		require.Contains(t, err.Error(), "Dockerfile:2:")
		require.Contains(t, err.Error(), "build cache")
	}
}
