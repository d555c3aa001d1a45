package store_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"testing/iotest"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// A pull stores its blobs with IngestBlob inside a batch: none of them is
// fsynced on its own, and ImportManifest makes all of them durable with one
// syncfs before index.json names the image, so the index never lists a
// blob a power cut could lose.
func TestImportManifestInBatchSyncsOnceBeforeTheIndex(t *testing.T) {
	s := openStore(t)
	end := s.BeginBatch()
	syncs, dirSyncs, fsSyncs := s.BlobSyncs(), s.BlobDirSyncs(), s.FSSyncs()
	var layers []ocispec.Descriptor
	var diffIDs []digest.Digest
	for i := range 3 {
		l := makeLayer(t, map[string]string{"f": string(rune('a' + i))})
		d, n, err := s.IngestBlob(bytes.NewReader(l.blob), digest.FromBytes(l.blob), int64(len(l.blob)))
		require.NoError(t, err)
		layers = append(layers, ocispec.Descriptor{MediaType: store.MediaTypeDockerLayer, Digest: d, Size: n})
		diffIDs = append(diffIDs, l.diffID)
	}
	created := time.Unix(1700000000, 0).UTC()
	cfgData, err := json.Marshal(ocispec.Image{Created: &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs}})
	require.NoError(t, err)
	cd, _, err := s.IngestBlob(bytes.NewReader(cfgData), digest.FromBytes(cfgData), int64(len(cfgData)))
	require.NoError(t, err)
	data, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: store.MediaTypeDockerManifest, Layers: layers,
		Config: ocispec.Descriptor{MediaType: store.MediaTypeDockerConfig, Digest: cd, Size: int64(len(cfgData))}})
	require.NoError(t, err)
	require.Equal(t, syncs, s.BlobSyncs(), "no blob fsynced before the manifest is imported")
	require.Equal(t, fsSyncs, s.FSSyncs(), "nothing synced before the index is written")

	img, err := s.ImportManifest(data, store.ImportOptions{Ref: "pulled:1"})
	require.NoError(t, err)
	require.Equal(t, syncs, s.BlobSyncs(), "no blob fsynced on its own")
	require.Equal(t, dirSyncs, s.BlobDirSyncs(), "no blob directory fsync")
	require.Equal(t, fsSyncs+1, s.FSSyncs(), "one syncfs before index.json names the image")
	require.NoError(t, end())
	require.Equal(t, fsSyncs+1, s.FSSyncs(), "the batch's end has nothing left to sync")

	// Listed at once (not pending until the batch ends): another process
	// sees the image whole.
	other, err := store.Open(s.Root())
	require.NoError(t, err)
	defer other.Close()
	got, err := other.Image("pulled:1")
	require.NoError(t, err)
	require.Equal(t, img.ManifestDigest, got.ManifestDigest)
	require.Equal(t, digest.FromBytes(data), got.ManifestDigest)
}

// A blob ingested unsynced has its writeback started every 8 MiB as it
// streams in (sync_file_range): whatever the write sizes, every byte lands
// and the stored copy is the blob.
func TestIngestInBatchStartsWritebackAndKeepsEveryByte(t *testing.T) {
	s := openStore(t)
	end := s.BeginBatch()
	data := make([]byte, 17<<20+123)
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	want := digest.FromBytes(data)
	// Odd read sizes cross the 8 MiB steps in the middle of writes.
	d, n, err := s.IngestBlob(iotest.HalfReader(bytes.NewReader(data)), want, int64(len(data)))
	require.NoError(t, err)
	require.Equal(t, want, d)
	require.Equal(t, int64(len(data)), n)
	require.NoError(t, s.VerifyBlob(want, int64(len(data))))
	require.NoError(t, end())
}
