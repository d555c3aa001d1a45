package store

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDiscardedRecordReplacesThePrevious writes the records of a build
// step's, a --rm and a kept container three times each (create, start,
// exit): each read gives the last one written, no temporary file is left
// beside it, and the directory is made by the first write.
func TestDiscardedRecordReplacesThePrevious(t *testing.T) {
	s := newTestStore(t)
	for _, c := range []*Container{
		{ID: RandomID(), Name: "step", Purpose: "build"},
		{ID: RandomID(), Name: "rm", Purpose: "run", Host: HostConfig{AutoRemove: true}},
		{ID: RandomID(), Name: "kept", Purpose: "run"},
	} {
		c.Created = time.Now().UTC()
		var files []os.FileInfo
		for _, st := range []string{StatusCreated, StatusRunning, StatusExited} {
			c.State.Status = st
			require.NoError(t, s.PutContainer(c), c.Name)
			got, err := s.ReadContainer(c.ID)
			require.NoError(t, err)
			require.Equal(t, st, got.State.Status, c.Name)
			names, err := os.ReadDir(s.ContainerDir(c.ID))
			require.NoError(t, err)
			require.Len(t, names, 1, c.Name)
			require.Equal(t, "config.json", names[0].Name())
			fi, err := os.Stat(filepath.Join(s.ContainerDir(c.ID), "config.json"))
			require.NoError(t, err)
			files = append(files, fi)
			if runtime.GOOS != "windows" {
				require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			}
		}
		// Every write is a new file, never the old one rewritten: a
		// reader that opened the previous record reads it whole.
		require.False(t, os.SameFile(files[0], files[1]), c.Name)
		require.False(t, os.SameFile(files[1], files[2]), c.Name)
	}
}

// TestDiscardedRecordKeepsAnOpenReadersRecord: a reader that opened the
// running record before the exit's write still reads the running record,
// whole.
func TestDiscardedRecordKeepsAnOpenReadersRecord(t *testing.T) {
	s := newTestStore(t)
	c := &Container{ID: RandomID(), Name: "step", Purpose: "build", State: ContainerState{Status: StatusRunning}}
	require.NoError(t, s.PutContainer(c))
	f, err := os.Open(filepath.Join(s.ContainerDir(c.ID), "config.json"))
	require.NoError(t, err)
	defer f.Close()
	c.State.Status = StatusExited
	require.NoError(t, s.PutContainer(c))
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Contains(t, string(data), `"status": "running"`)
	got, err := s.ReadContainer(c.ID)
	require.NoError(t, err)
	require.Equal(t, StatusExited, got.State.Status)
}

// TestDeleteContainerAfterReleasesTheNameInTheBackground: a build step's
// or --rm container's removal releases its name with its files, in the
// background. From the rename on the name is free: no lookup finds the
// removed container by it, a new container can claim it, and the late
// release leaves the new holder's entry alone; with no new holder the
// entry is gone once the deletion is.
func TestDeleteContainerAfterReleasesTheNameInTheBackground(t *testing.T) {
	s := newTestStore(t)
	a := putNamed(t, s, "web")
	hold := make(chan struct{})
	require.NoError(t, s.DeleteContainerAfter(a.ID, func() { <-hold }))
	_, err := s.Container("web")
	require.ErrorIs(t, err, ErrNotFound)
	b := putNamed(t, s, "web")
	close(hold)
	s.trash.Wait()
	require.Equal(t, b.ID, nameTarget(t, s, "web"))
	got, err := s.Container("web")
	require.NoError(t, err)
	require.Equal(t, b.ID, got.ID)

	c := putNamed(t, s, "db")
	require.NoError(t, s.DeleteContainerAfter(c.ID, nil))
	s.trash.Wait()
	require.Empty(t, nameTarget(t, s, "db"))
	_, err = os.Stat(filepath.Join(s.TmpDir(), "rm-"+c.ID))
	require.True(t, os.IsNotExist(err), "%v", err)
}

// TestRecordIsMarshalIndentsBytes: a record is written byte for byte as
// json.MarshalIndent(c, "", "  ") writes it (HTML characters escaped, no
// trailing newline), also when records of several containers are written
// at once through the shared encoders.
func TestRecordIsMarshalIndentsBytes(t *testing.T) {
	s := newTestStore(t)
	var cs []*Container
	for i := range 8 {
		cs = append(cs, &Container{
			ID: RandomID(), Name: "c" + string(rune('a'+i)), Purpose: "run",
			Image:   "busybox <&> é \u2028",
			Created: time.Now().UTC(),
			State:   ContainerState{Status: StatusRunning, Pid: 100 + i},
		})
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := s.PutContainer(c); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range cs {
		want, err := json.MarshalIndent(c, "", "  ")
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(s.ContainerDir(c.ID), "config.json"))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), c.Name)
	}
}
