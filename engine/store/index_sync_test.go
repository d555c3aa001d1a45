package store_test

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// At the end of a batch with blobs stored unsynced (a pull), the new
// index.json is written before the batch's syncfs, which makes it durable
// with the blobs: on Linux no fsync of its own. Outside a batch, and where
// syncfs does not flush every file, index.json is fsynced as before. Either
// way the file is in place, whole, and no temporary file is left.
func TestIndexJSONRidesTheBatchSyncfs(t *testing.T) {
	s := openStore(t)
	img := putImage(t, s, time.Unix(1700000000, 0).UTC(), "")
	end := s.BeginBatch()
	blob := []byte("a blob of the batch")
	d, _, err := s.IngestBlob(bytes.NewReader(blob), digest.FromBytes(blob), int64(len(blob)))
	require.NoError(t, err)
	fileSyncs, fsSyncs := s.IndexFileSyncs(), s.FSSyncs()
	_, err = s.Tag(img.ID, "rides:1")
	require.NoError(t, err)
	require.Equal(t, fsSyncs+1, s.FSSyncs(), "one syncfs for the batch's blobs")
	want := int64(0)
	if runtime.GOOS != "linux" {
		want = 1
	}
	require.Equal(t, fileSyncs+want, s.IndexFileSyncs(), "index.json fsynced on its own")
	require.NoError(t, end())

	// Nothing waiting: index.json is fsynced itself.
	fileSyncs = s.IndexFileSyncs()
	_, err = s.Tag(img.ID, "rides:2")
	require.NoError(t, err)
	require.Equal(t, fileSyncs+1, s.IndexFileSyncs(), "index.json outside a batch not fsynced")
	require.Equal(t, fsSyncs+1, s.FSSyncs(), "a syncfs with nothing to sync")

	data, err := os.ReadFile(s.Root() + "/index.json")
	require.NoError(t, err)
	require.Contains(t, string(data), "rides:1")
	require.Contains(t, string(data), "rides:2")
	entries, err := os.ReadDir(s.Root())
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), ".tmp-"), "temporary file %s left", e.Name())
	}
	require.True(t, s.HasBlob(d))
}
