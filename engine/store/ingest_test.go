package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// A committed step's layer (IngestBlob), config and manifest share one sync
// of the blob directory, made before index.json names them; the image is
// whole and readable afterwards.
func TestImageBlobsShareOneDirectorySync(t *testing.T) {
	s := openStore(t)
	l := makeLayer(t, map[string]string{"f": "1"})
	before := s.BlobDirSyncs()
	d, n, err := s.IngestBlob(bytes.NewReader(l.blob), "", -1)
	require.NoError(t, err)
	require.Equal(t, before, s.BlobDirSyncs(), "IngestBlob leaves the directory sync to the image")
	img := putIngested(t, s, l, d, n, time.Unix(5, 0))
	require.Equal(t, before+1, s.BlobDirSyncs(), "one sync for the layer, config and manifest")
	got, err := s.Image(img.ID.String())
	require.NoError(t, err)
	require.Equal(t, d, got.Manifest.Layers[0].Digest)
	require.NoError(t, s.VerifyBlob(d, n))
	// PutBlob alone still syncs its own name: nothing else would.
	_, _, err = s.PutBlob(bytes.NewReader([]byte("alone")), "", -1)
	require.NoError(t, err)
	require.Equal(t, before+2, s.BlobDirSyncs())
}

// After this process writes index.json (under the lock), reading it back
// reuses what was written instead of parsing the file again: a build
// writes the index at every step, and the file grows with the store.
func TestIndexWrittenIsNotParsedAgain(t *testing.T) {
	s := openStore(t)
	for i := range 5 {
		putImage(t, s, time.Unix(int64(100+i), 0), "", makeLayer(t, map[string]string{"f": string(rune('a' + i))}))
	}
	before := s.IndexParses()
	idx, err := s.ReadIndex()
	require.NoError(t, err)
	require.Len(t, idx.Manifests, 5)
	_, err = s.Images()
	require.NoError(t, err)
	require.Equal(t, before, s.IndexParses(), "index.json parsed again after this process wrote it")

	// Another process's write (here: another Store on the same root) is seen.
	other, err := store.Open(s.Root())
	require.NoError(t, err)
	defer other.Close()
	putImage(t, other, time.Unix(200, 0), "", makeLayer(t, map[string]string{"g": "1"}))
	idx, err = s.ReadIndex()
	require.NoError(t, err)
	require.Len(t, idx.Manifests, 6)
	require.Equal(t, before+1, s.IndexParses())
}

// Looking one image up does not copy the whole index (N map copies per
// lookup made `ps` with N containers and N images quadratic).
func TestImageLookupDoesNotCopyTheIndex(t *testing.T) {
	s := openStore(t)
	l := makeLayer(t, map[string]string{"f": "1"})
	var last *store.Image
	for i := range 150 {
		last = putImage(t, s, time.Unix(int64(1000+i), 0), "", l)
	}
	_, err := s.Image(last.ID.String()) // warm: the index parsed once
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(10, func() {
		img, err := s.Image(last.ID.String())
		if err != nil || img.ID != last.ID {
			t.Fatalf("Image = %v, %v", img, err)
		}
	})
	require.Less(t, allocs, float64(100), "allocations of one lookup among 150 images")
}

// In a batch (a build), a step's layer (IngestBlob), config and manifest
// wait on the disk for nothing: no fsync of their content, none of the blob
// directory. One syncfs makes all of them durable before index.json lists
// the batch's images, so the index never names a blob a power cut could
// lose. Outside a batch the blob is fsynced as before.
func TestBatchDefersBlobSyncsToTheIndexWrite(t *testing.T) {
	s := openStore(t)
	end := s.BeginBatch()
	syncs, dirSyncs, fsSyncs := s.BlobSyncs(), s.BlobDirSyncs(), s.FSSyncs()
	var ids []digest.Digest
	for i := range 3 {
		l := makeLayer(t, map[string]string{"f": string(rune('a' + i))})
		d, n, err := s.IngestBlob(bytes.NewReader(l.blob), "", -1)
		require.NoError(t, err)
		ids = append(ids, putIngested(t, s, l, d, n, time.Unix(int64(10+i), 0)).ID)
	}
	require.Equal(t, syncs, s.BlobSyncs(), "no blob fsynced during the batch")
	require.Equal(t, dirSyncs, s.BlobDirSyncs(), "no blob directory fsync during the batch")
	require.Equal(t, fsSyncs, s.FSSyncs(), "nothing synced before the index is written")
	require.NoError(t, end())
	require.Equal(t, fsSyncs+1, s.FSSyncs(), "one syncfs before index.json lists the batch")
	// Another process sees every image whole.
	other, err := store.Open(s.Root())
	require.NoError(t, err)
	defer other.Close()
	for _, id := range ids {
		img, err := other.Image(id.String())
		require.NoError(t, err)
		require.NoError(t, other.VerifyBlob(img.Manifest.Layers[0].Digest, img.Manifest.Layers[0].Size))
	}
	// Outside a batch: the content fsync is back, and nothing is left to syncfs.
	_, _, err = s.IngestBlob(bytes.NewReader([]byte("alone")), "", -1)
	require.NoError(t, err)
	require.Equal(t, syncs+1, s.BlobSyncs())
}

// putIngested stores an image over one layer already ingested as blob d of
// n bytes; created makes the ID unique.
func putIngested(t *testing.T, s *store.Store, l testLayer, d digest.Digest, n int64, created time.Time) *store.Image {
	t.Helper()
	img, err := s.PutImage(ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{l.diffID}},
	}, []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: d, Size: n}}, store.ImageOptions{})
	require.NoError(t, err)
	return img
}
