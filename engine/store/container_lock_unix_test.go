//go:build unix

package store_test

import (
	"os"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The container lock is on the container's directory: held, another
// descriptor of the directory cannot take it; released, it can. No lock
// file is made.
func TestLockContainerLocksTheDirectory(t *testing.T) {
	s, err := store.Open(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	c := &store.Container{ID: store.RandomID(), Name: "locked"}
	require.NoError(t, s.PutContainer(c))
	unlock, err := s.LockContainer(c.ID)
	require.NoError(t, err)
	other, err := os.Open(s.ContainerDir(c.ID))
	require.NoError(t, err)
	defer other.Close()
	require.ErrorIs(t, unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK)
	unlock()
	require.NoError(t, unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB))
	require.NoError(t, unix.Flock(int(other.Fd()), unix.LOCK_UN))
	entries, err := os.ReadDir(s.ContainerDir(c.ID))
	require.NoError(t, err)
	for _, e := range entries {
		require.NotEqual(t, "lock", e.Name())
	}
	_, err = s.LockContainer(store.RandomID())
	require.ErrorIs(t, err, store.ErrNotFound)
}
