package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// putNamed writes a record named name, claiming the name first as a
// create does (entry before record).
func putNamed(t testing.TB, s *Store, name string) *Container {
	t.Helper()
	c := &Container{ID: RandomID(), Name: name, Created: time.Now().UTC(), Purpose: "run"}
	holder, err := s.ClaimContainerName(name, c.ID)
	require.NoError(t, err)
	require.Empty(t, holder)
	require.NoError(t, s.PutContainer(c))
	return c
}

func nameTarget(t *testing.T, s *Store, name string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(s.Root(), containerNamesDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	require.NoError(t, err)
	return target
}

// TestClaimNameReadsConstantRecords: claiming a name, finding a
// container by name and by ID prefix read at most one record each,
// whatever the store holds (a scan read every record: 10, then 300).
func TestClaimNameReadsConstantRecords(t *testing.T) {
	for _, n := range []int{10, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newTestStore(t)
			var last *Container
			for i := 0; i < n; i++ {
				last = putNamed(t, s, fmt.Sprintf("box%d", i))
			}
			before := s.RecordReads()
			holder, err := s.ClaimContainerName("fresh_name", RandomID())
			require.NoError(t, err)
			require.Empty(t, holder)
			require.Equal(t, int64(0), s.RecordReads()-before, "a free name reads no record")

			before = s.RecordReads()
			holder, err = s.ClaimContainerName(last.Name, RandomID())
			require.NoError(t, err)
			require.Equal(t, last.ID, holder)
			require.Equal(t, int64(1), s.RecordReads()-before, "a taken name reads its holder's record")

			before = s.RecordReads()
			c, err := s.Container(last.Name)
			require.NoError(t, err)
			require.Equal(t, last.ID, c.ID)
			c, err = s.Container("/" + last.Name)
			require.NoError(t, err)
			require.Equal(t, last.ID, c.ID)
			c, err = s.Container(last.ID[:12])
			require.NoError(t, err)
			require.Equal(t, last.ID, c.ID)
			require.Equal(t, int64(3), s.RecordReads()-before, "by name, /name and prefix: one record each")

			before = s.RecordReads()
			_, err = s.Container("busybox:latest")
			require.ErrorIs(t, err, ErrNotFound)
			require.Equal(t, "No such container: busybox:latest", err.Error())
			require.Equal(t, int64(0), s.RecordReads()-before, "an image name reads no record")
		})
	}
}

// TestClaimNameStaleEntry: a crash between the entry and the record (or
// a removal or rename cut short) leaves an entry that does not count.
func TestClaimNameStaleEntry(t *testing.T) {
	s := newTestStore(t)
	ghost := RandomID()
	holder, err := s.ClaimContainerName("box", ghost) // then killed: no record
	require.NoError(t, err)
	require.Empty(t, holder)
	_, err = s.Container("box")
	require.ErrorIs(t, err, ErrNotFound)

	c := putNamed(t, s, "box")
	require.Equal(t, c.ID, nameTarget(t, s, "box"), "the stale entry was repaired")
	got, err := s.Container("box")
	require.NoError(t, err)
	require.Equal(t, c.ID, got.ID)

	// An entry naming a container whose record has another name (a
	// rename cut short) is stale too; the record's own name still counts.
	other := putNamed(t, s, "other")
	require.NoError(t, os.Remove(filepath.Join(s.Root(), containerNamesDir, "box")))
	require.NoError(t, os.Symlink(other.ID, filepath.Join(s.Root(), containerNamesDir, "box")))
	require.NoError(t, os.Remove(s.containerConfigPath(c.ID))) // box's holder gone
	_, err = s.Container("box")
	require.ErrorIs(t, err, ErrNotFound)
	holder, err = s.ClaimContainerName("box", RandomID())
	require.NoError(t, err)
	require.Empty(t, holder)
	holder, err = s.ClaimContainerName("other", RandomID())
	require.NoError(t, err)
	require.Equal(t, other.ID, holder)
}

// TestDeleteContainerReleasesName: rm removes the entry after the
// record, and only an entry that points at the removed container.
func TestDeleteContainerReleasesName(t *testing.T) {
	s := newTestStore(t)
	c := putNamed(t, s, "box")
	require.NoError(t, s.DeleteContainer(c.ID))
	require.Empty(t, nameTarget(t, s, "box"))
	_, err := s.Container("box")
	require.ErrorIs(t, err, ErrNotFound)

	// A container killed before its release left its entry; another
	// took the name since: removing the first leaves the second's entry.
	a := putNamed(t, s, "web")
	require.NoError(t, os.Remove(filepath.Join(s.Root(), containerNamesDir, "web")))
	b := &Container{ID: RandomID(), Name: "web", Created: time.Now()}
	holder, err := s.ClaimContainerName("web", b.ID)
	require.NoError(t, err)
	require.Empty(t, holder)
	require.NoError(t, s.PutContainer(b))
	require.NoError(t, s.DeleteContainer(a.ID))
	require.Equal(t, b.ID, nameTarget(t, s, "web"))
	require.NoError(t, s.ReleaseContainerName("web", a.ID))
	require.Equal(t, b.ID, nameTarget(t, s, "web"))
	got, err := s.Container("web")
	require.NoError(t, err)
	require.Equal(t, b.ID, got.ID)
}

// TestNameIndexFromOldStore: a store an older Berth made has records and
// no index: lookups scan as before, and the first claim builds the
// index from the records, so their names stay taken.
func TestNameIndexFromOldStore(t *testing.T) {
	s := newTestStore(t)
	var old []*Container
	for _, name := range []string{"alpha", "beta", strings.Repeat("x", 200)} {
		c := &Container{ID: RandomID(), Name: name, Created: time.Now()}
		require.NoError(t, s.PutContainer(c)) // no claim: an older Berth
		old = append(old, c)
	}
	_, err := os.Lstat(filepath.Join(s.Root(), containerNamesDir))
	require.ErrorIs(t, err, os.ErrNotExist)
	got, err := s.Container("beta")
	require.NoError(t, err)
	require.Equal(t, old[1].ID, got.ID)

	for _, c := range old {
		holder, err := s.ClaimContainerName(c.Name, RandomID())
		require.NoError(t, err)
		require.Equal(t, c.ID, holder, c.Name)
	}
	require.Equal(t, old[0].ID, nameTarget(t, s, "alpha"))
	before := s.RecordReads()
	got, err = s.Container(old[2].Name)
	require.NoError(t, err)
	require.Equal(t, old[2].ID, got.ID)
	require.Equal(t, int64(1), s.RecordReads()-before, "the index answers now")
	tmp, err := os.ReadDir(s.TmpDir())
	require.NoError(t, err)
	require.Empty(t, tmp, "the index was built in tmp/ and renamed away")
}

// TestHostileContainerNames: a name that is not Docker's form is refused
// (it would name another file), a long one is hashed, and an entry
// planted in the index that points outside is stale, never followed.
func TestHostileContainerNames(t *testing.T) {
	s := newTestStore(t)
	for _, name := range []string{"", "x", "..", ".", "../etc", "a/b", "-a", "_a", ".a", "a\x00b", "~" + RandomID(), "a b", "é1"} {
		_, err := s.ClaimContainerName(name, RandomID())
		require.ErrorIs(t, err, ErrInvalidName, "%q", name)
		_, err = s.Container(name)
		require.ErrorIs(t, err, ErrNotFound, "%q", name)
	}
	long := strings.Repeat("a", 4000)
	c := putNamed(t, s, long)
	got, err := s.Container(long)
	require.NoError(t, err)
	require.Equal(t, c.ID, got.ID)
	holder, err := s.ClaimContainerName(long, RandomID())
	require.NoError(t, err)
	require.Equal(t, c.ID, holder)

	dir := filepath.Join(s.Root(), containerNamesDir)
	require.NoError(t, os.Symlink("../../../../etc/passwd", filepath.Join(dir, "evil")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plain"), []byte(c.ID), 0o600))
	for _, name := range []string{"evil", "plain"} {
		_, err = s.Container(name)
		require.ErrorIs(t, err, ErrNotFound, name)
		holder, err = s.ClaimContainerName(name, c.ID)
		require.NoError(t, err, name)
		require.Empty(t, holder, name)
		require.Equal(t, c.ID, nameTarget(t, s, name))
	}
}

func newTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRepairRebuildsNameIndex: an entry lost (a power cut on a file
// system that keeps no order, an older Berth's create) and a stale one
// are set right by Repair (`image validate --repair`).
func TestRepairRebuildsNameIndex(t *testing.T) {
	s := newTestStore(t)
	a := putNamed(t, s, "alpha")
	lost := &Container{ID: RandomID(), Name: "lost", Created: time.Now()}
	require.NoError(t, s.PutContainer(lost)) // record without its entry
	_, err := s.ClaimContainerName("stale", RandomID())
	require.NoError(t, err)
	holder, err := s.ClaimContainerName("lost", RandomID())
	require.NoError(t, err)
	require.Empty(t, holder, "the lost entry lets the name go")
	require.NoError(t, os.Remove(filepath.Join(s.Root(), containerNamesDir, "lost")))

	_, err = s.Repair()
	require.NoError(t, err)
	require.Equal(t, a.ID, nameTarget(t, s, "alpha"))
	require.Equal(t, lost.ID, nameTarget(t, s, "lost"))
	require.Empty(t, nameTarget(t, s, "stale"))
	holder, err = s.ClaimContainerName("lost", RandomID())
	require.NoError(t, err)
	require.Equal(t, lost.ID, holder)
	tmp, err := os.ReadDir(s.TmpDir())
	require.NoError(t, err)
	require.Empty(t, tmp)
}

// TestClaimNameConcurrent: claims of one name by many goroutines, each
// under the store's lock as a create takes it, give it to exactly one.
func TestClaimNameConcurrent(t *testing.T) {
	s := newTestStore(t)
	const n = 8
	wins := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			id := RandomID()
			unlock, err := s.Lock()
			if err != nil {
				errs <- err
				return
			}
			defer unlock()
			holder, err := s.ClaimContainerName("shared", id)
			if err == nil && holder == "" {
				err = s.PutContainer(&Container{ID: id, Name: "shared", Created: time.Now()})
				wins <- id
			}
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	close(wins)
	var won []string
	for id := range wins {
		won = append(won, id)
	}
	require.Len(t, won, 1)
	require.Equal(t, won[0], nameTarget(t, s, "shared"))
}

// TestContainerByPrefixWithIndex: an ID prefix reads the directory's
// names and only the matching records: Docker's error for two, a
// directory without a record (being created) left out, a name wins
// over a prefix it spells.
func TestContainerByPrefixWithIndex(t *testing.T) {
	s := newTestStore(t)
	mk := func(id, name string) {
		holder, err := s.ClaimContainerName(name, id)
		require.NoError(t, err)
		require.Empty(t, holder)
		require.NoError(t, s.PutContainer(&Container{ID: id, Name: name, Created: time.Now()}))
	}
	a, b := "abc1"+RandomID()[4:], "abc2"+RandomID()[4:]
	mk(a, "one")
	mk(b, "two")
	require.NoError(t, os.MkdirAll(s.ContainerDir("abc3"+RandomID()[4:]), 0o700))
	_, err := s.Container("abc")
	require.EqualError(t, err, "Multiple IDs found with provided prefix: abc")
	c, err := s.Container("abc2")
	require.NoError(t, err)
	require.Equal(t, b, c.ID)
	_, err = s.Container("abc3")
	require.ErrorIs(t, err, ErrNotFound)
	mk(RandomID(), "abc1")
	c, err = s.Container("abc1")
	require.NoError(t, err)
	require.Equal(t, "abc1", c.Name, "a name wins over an ID prefix, as in Docker")
}

// TestNameIndexNotADirectory: a file where the index belongs is not an
// index: lookups scan, and the first claim replaces it with one.
func TestNameIndexNotADirectory(t *testing.T) {
	s := newTestStore(t)
	c := &Container{ID: RandomID(), Name: "kept", Created: time.Now()}
	require.NoError(t, s.PutContainer(c))
	require.NoError(t, os.WriteFile(filepath.Join(s.Root(), containerNamesDir), []byte("x"), 0o600))
	got, err := s.Container("kept")
	require.NoError(t, err)
	require.Equal(t, c.ID, got.ID)
	_, err = s.Container("busybox")
	require.ErrorIs(t, err, ErrNotFound)
	holder, err := s.ClaimContainerName("kept", RandomID())
	require.NoError(t, err)
	require.Equal(t, c.ID, holder)
	require.Equal(t, c.ID, nameTarget(t, s, "kept"))
}
