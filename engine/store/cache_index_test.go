package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// The first index copy in a parent's directory is a hard link to the entry
// (no second file written); later copies replace it by a rename. Since an
// entry is never written in place, re-recording a key gives the entry its
// new content while the index keeps naming what it named.
func TestCacheIndexCopiesStayRight(t *testing.T) {
	s := openStore(t)
	parent := digest.FromString("parent")
	first := store.CacheEntry{Parent: parent, Key: "/bin/sh -c one", Image: digest.FromString("1"), Group: "COPY in /a"}
	require.NoError(t, s.CachePut(first))
	dir := filepath.Join(s.CacheDir(), parent.Encoded())
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	var entry os.FileInfo
	for _, n := range names {
		if strings.HasSuffix(n.Name(), ".json") {
			entry, err = os.Stat(filepath.Join(dir, n.Name()))
			require.NoError(t, err)
		}
	}
	require.NotNil(t, entry)
	for _, n := range names {
		if strings.HasSuffix(n.Name(), ".idx") {
			idx, err := os.Stat(filepath.Join(dir, n.Name()))
			require.NoError(t, err)
			require.True(t, os.SameFile(entry, idx), "%s is not a link to the entry", n.Name())
		}
	}
	// The same key again, with another image: the entry changes, and so
	// does newest (replaced, not written through the link).
	again := first
	again.Image = digest.FromString("1 again")
	require.NoError(t, s.CachePut(again))
	got, ok := s.CacheGet(parent, first.Key)
	require.True(t, ok)
	require.Equal(t, again.Image, got.Image)
	second := store.CacheEntry{Parent: parent, Key: "/bin/sh -c two", Image: digest.FromString("2")}
	require.NoError(t, s.CachePut(second))
	newest, ok := s.CacheNewest(parent, "")
	require.True(t, ok)
	require.Equal(t, second.Image, newest.Image)
	group, ok := s.CacheNewest(parent, first.Group)
	require.True(t, ok)
	require.Equal(t, again.Image, group.Image, "the group's index follows its last entry")
	got, ok = s.CacheGet(parent, second.Key)
	require.True(t, ok)
	require.Equal(t, second.Image, got.Image)
	entries, err := s.CacheEntries(parent)
	require.NoError(t, err)
	require.Len(t, entries, 2)
}
