package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/stretchr/testify/require"
)

// A shared layer (the containers' init layer) is made once per store: the
// second caller gets the same directory without fill running again; a fill
// that fails leaves neither the layer nor a temporary directory; garbage
// collection and a new Open leave it alone.
func TestSharedLayerDirIsMadeOnce(t *testing.T) {
	s := openStore(t)
	fills := 0
	fill := func(dir string) error {
		fills++
		if err := os.Mkdir(filepath.Join(dir, "proc"), 0o755); err != nil {
			return err
		}
		return os.Symlink("/proc/mounts", filepath.Join(dir, "mtab"))
	}
	dir, err := s.SharedLayerDir("init-test", fill)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(s.LayersDir(), ".init-test"), dir)
	again, err := s.SharedLayerDir("init-test", fill)
	require.NoError(t, err)
	require.Equal(t, dir, again)
	require.Equal(t, 1, fills, "fill ran again for a layer already made")
	st, err := os.Stat(filepath.Join(dir, "proc"))
	require.NoError(t, err)
	require.True(t, st.IsDir())
	target, err := os.Readlink(filepath.Join(dir, "mtab"))
	require.NoError(t, err)
	require.Equal(t, "/proc/mounts", target)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), info.Mode().Perm(), "a lower dir is readable like any /")

	boom := errors.New("boom")
	_, err = s.SharedLayerDir("init-broken", func(dir string) error { return boom })
	require.ErrorIs(t, err, boom)
	entries, err := os.ReadDir(s.LayersDir())
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the first layer: no half-made one, no temporary directory")

	_, err = s.GC()
	require.NoError(t, err)
	require.DirExists(t, dir, "GC removed the shared layer")

	for _, bad := range []string{"", ".", "..", "a/b", ".hidden"} {
		_, err := s.SharedLayerDir(bad, fill)
		require.Error(t, err, "name %q", bad)
	}
}

// A deleted container leaves every listing at once; its files go in the
// background and are gone when Close returns, leaving nothing in tmp/ for
// the next Open to take for a killed process's leftovers.
func TestDeleteContainerFilesGoneByClose(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	require.NoError(t, err)
	var ids []string
	for range 3 {
		c := &store.Container{ID: store.RandomID(), Name: "c" + store.RandomID()[:8]}
		require.NoError(t, s.PutContainer(c))
		for _, d := range []string{"upper/etc", "work/work", "l"} {
			require.NoError(t, os.MkdirAll(filepath.Join(s.ContainerDir(c.ID), d), 0o755))
		}
		require.NoError(t, os.WriteFile(filepath.Join(s.ContainerDir(c.ID), "upper/etc/f"), []byte("x"), 0o644))
		ids = append(ids, c.ID)
	}
	for _, id := range ids {
		require.NoError(t, s.DeleteContainer(id))
		_, err := s.Container(id)
		require.ErrorIs(t, err, store.ErrNotFound, "a deleted container is still listed")
	}
	all, err := s.Containers()
	require.NoError(t, err)
	require.Empty(t, all)
	require.NoError(t, s.Close())
	left, err := os.ReadDir(s.TmpDir())
	require.NoError(t, err)
	require.Empty(t, left, "deleted containers' files outlived Close")
	require.NoError(t, s.DeleteContainer(ids[0]), "deleting twice is success")
}

// DeleteContainerAfter takes the container out of every listing at once
// but deletes its files only once before has returned (a step whose mounts
// are still going), and Close waits for both.
func TestDeleteContainerAfterDeletesFilesAfterBefore(t *testing.T) {
	s, err := store.Open(t.TempDir())
	require.NoError(t, err)
	c := &store.Container{ID: store.RandomID(), Name: "step"}
	require.NoError(t, s.PutContainer(c))
	require.NoError(t, os.MkdirAll(filepath.Join(s.ContainerDir(c.ID), "work/work"), 0o755))
	release, entered := make(chan struct{}), make(chan struct{})
	require.NoError(t, s.DeleteContainerAfter(c.ID, func() {
		close(entered)
		<-release
	}))
	_, err = s.Container(c.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a deleted container is still listed")
	<-entered
	trash := filepath.Join(s.TmpDir(), "rm-"+c.ID)
	_, err = os.Stat(filepath.Join(trash, "work/work"))
	require.NoError(t, err, "files deleted before before returned")
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the deletion could start", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-closed)
	_, err = os.Stat(trash)
	require.ErrorIs(t, err, os.ErrNotExist, "files outlived Close")
}

// A full ID is looked up by reading that one record; names, prefixes and
// a full ID that names no container behave as before.
func TestContainerLookupByFullID(t *testing.T) {
	s, err := store.Open(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	a := &store.Container{ID: store.RandomID(), Name: "alpha", State: store.ContainerState{Status: store.StatusExited}}
	b := &store.Container{ID: store.RandomID(), Name: "beta"}
	require.NoError(t, s.PutContainer(a))
	require.NoError(t, s.PutContainer(b))
	// A damaged record elsewhere does not stand in the way of a full ID.
	require.NoError(t, os.MkdirAll(s.ContainerDir(store.RandomID()), 0o700))
	for _, ref := range []string{a.ID, "alpha", "/alpha", a.ID[:12]} {
		got, err := s.Container(ref)
		require.NoError(t, err, ref)
		require.Equal(t, a.ID, got.ID, ref)
		require.Equal(t, store.StatusExited, got.State.Status, ref)
	}
	_, err = s.Container(store.RandomID())
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorContains(t, err, "No such container: ")
	require.NoError(t, s.DeleteContainer(a.ID))
	_, err = s.Container(a.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "a deleted container is found by its full ID")
}

// A deleted container's files go whatever their depth, and a symlink in
// them (the overlay's l/<n> links to layer dirs) is removed, never
// followed: what it points at stays.
func TestDeleteContainerRemovesTreesNotLinkTargets(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	require.NoError(t, err)
	outside := filepath.Join(t.TempDir(), "layer")
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "bin", "sh"), []byte("keep"), 0o755))
	c := &store.Container{ID: store.RandomID(), Name: "deep"}
	require.NoError(t, s.PutContainer(c))
	dir := s.ContainerDir(c.ID)
	deep := filepath.Join(dir, "upper", "a", "b", "c", "d", "e")
	require.NoError(t, os.MkdirAll(deep, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(deep, "f"), []byte("x"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "merged"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "l"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "l", "0")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "layer-link")))
	require.NoError(t, s.DeleteContainer(c.ID))
	require.NoError(t, s.Close())
	left, err := os.ReadDir(s.TmpDir())
	require.NoError(t, err)
	require.Empty(t, left)
	data, err := os.ReadFile(filepath.Join(outside, "bin", "sh"))
	require.NoError(t, err, "the link's target went with the container")
	require.Equal(t, "keep", string(data))
}

// ContainerNames maps each name to its container, skipping a directory
// without a record (being created or removed) and a damaged record, as
// Containers does.
func TestContainerNames(t *testing.T) {
	s, err := store.Open(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	a := &store.Container{ID: store.RandomID(), Name: "alpha", Config: store.ContainerConfig{Env: []string{"A=1"}}}
	b := &store.Container{ID: store.RandomID(), Name: "beta"}
	require.NoError(t, s.PutContainer(a))
	require.NoError(t, s.PutContainer(b))
	require.NoError(t, os.MkdirAll(s.ContainerDir(store.RandomID()), 0o700))
	damaged := store.RandomID()
	require.NoError(t, os.MkdirAll(s.ContainerDir(damaged), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(s.ContainerDir(damaged), "config.json"), []byte("{"), 0o600))
	names, err := s.ContainerNames()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"alpha": a.ID, "beta": b.ID}, names)
	all, err := s.Containers()
	require.NoError(t, err)
	require.Len(t, all, 2)
}
