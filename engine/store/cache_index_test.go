package store_test

import (
	"fmt"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// The newest entry on a parent, and the newest of a COPY's group, are found
// by reading one file, however many entries share the parent: an uncached
// step's probe must not grow with the builds made on its base.
func TestCacheNewestReadsOneFile(t *testing.T) {
	s := openStore(t)
	parent := digest.FromString("parent")
	for _, n := range []int{1, 10, 300} {
		for i := range n {
			e := store.CacheEntry{Parent: parent, Key: fmt.Sprintf("/bin/sh -c echo %d-%d", n, i), Image: digest.FromString(fmt.Sprint(n, i))}
			if i%2 == 0 {
				e.Group = "COPY in /app"
			}
			require.NoError(t, s.CachePut(e))
		}
		before := s.CacheFilesRead()
		newest, ok := s.CacheNewest(parent, "")
		require.True(t, ok)
		require.Equal(t, fmt.Sprintf("/bin/sh -c echo %d-%d", n, n-1), newest.Key)
		group, ok := s.CacheNewest(parent, "COPY in /app")
		require.True(t, ok)
		require.Equal(t, fmt.Sprintf("/bin/sh -c echo %d-%d", n, (n-1)/2*2), group.Key)
		require.Equal(t, int64(2), s.CacheFilesRead()-before, "files read for two lookups with %d entries", n)
	}
	// The index files are not entries: the listing and the count skip them.
	entries, err := s.CacheEntries(parent)
	require.NoError(t, err)
	require.Len(t, entries, 311)
	require.Equal(t, 311, s.CacheEntryCount())
}

// A parent nothing was built on, and a group never recorded, answer
// "not found" without reading entries.
func TestCacheNewestMissing(t *testing.T) {
	s := openStore(t)
	_, ok := s.CacheNewest(digest.FromString("nothing built"), "")
	require.False(t, ok)
	parent := digest.FromString("parent")
	require.NoError(t, s.CachePut(store.CacheEntry{Parent: parent, Key: "/bin/sh -c true", Image: digest.FromString("i")}))
	_, ok = s.CacheNewest(parent, "COPY in /never")
	require.False(t, ok)
	// An index copied into another parent's directory is refused.
	other, ok := s.CacheNewest(parent, "")
	require.True(t, ok)
	require.Equal(t, parent, other.Parent)
}
