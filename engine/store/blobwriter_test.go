package store_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// assertNoIngest checks that nothing of a refused blob is left: no blob
// under its name, no temporary file.
func assertNoIngest(t *testing.T, s *store.Store, d digest.Digest) {
	t.Helper()
	require.False(t, s.HasBlob(d), "refused blob stored")
	left, err := os.ReadDir(s.TmpDir())
	require.NoError(t, err)
	require.Empty(t, left, "ingest files left")
}

// A blob written piece by piece (as a pull's layer check reads it) is
// stored under its digest once Commit finds size and digest right.
func TestBlobWriterCommits(t *testing.T) {
	s := openStore(t)
	data := bytes.Repeat([]byte("layer bytes "), 10000)
	d := digest.FromBytes(data)
	bw, err := s.NewBlobWriter(d, int64(len(data)))
	require.NoError(t, err)
	for p := data; len(p) > 0; {
		n := min(len(p), 4096)
		_, err := bw.Write(p[:n])
		require.NoError(t, err)
		p = p[n:]
	}
	require.False(t, s.HasBlob(d), "a blob must not be visible before Commit")
	got, n, err := bw.Commit()
	require.NoError(t, err)
	require.Equal(t, d, got)
	require.Equal(t, int64(len(data)), n)
	require.NoError(t, s.VerifyBlob(d, n))
	bw.Abort() // after Commit: does nothing
	require.True(t, s.HasBlob(d))
	left, err := os.ReadDir(s.TmpDir())
	require.NoError(t, err)
	require.Empty(t, left)
}

// Wrong digest, too few bytes, a byte too many, an abort: each is refused
// (ErrInvalidDigest for the content's faults) and leaves nothing behind.
func TestBlobWriterRefuses(t *testing.T) {
	data := []byte("the announced content")
	d := digest.FromBytes(data)
	for _, tc := range []struct {
		name  string
		write []byte
		want  string
	}{
		{"wrong digest", []byte("THE ANNOUNCED content"), "got sha256:"},
		{"truncated", data[:5], "is 5 bytes, not the 21 expected"},
		{"oversized", append(bytes.Clone(data), 'x'), "is longer than the 21 bytes expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			bw, err := s.NewBlobWriter(d, int64(len(data)))
			require.NoError(t, err)
			_, werr := bw.Write(tc.write)
			_, _, err = bw.Commit()
			require.ErrorIs(t, err, store.ErrInvalidDigest)
			require.ErrorContains(t, err, tc.want)
			if tc.name == "oversized" {
				// Write itself refuses the byte past the size.
				require.ErrorIs(t, werr, store.ErrInvalidDigest)
			}
			assertNoIngest(t, s, d)
		})
	}
	t.Run("abort", func(t *testing.T) {
		s := openStore(t)
		bw, err := s.NewBlobWriter(d, int64(len(data)))
		require.NoError(t, err)
		_, err = bw.Write(data)
		require.NoError(t, err)
		_, err = bw.Verify()
		require.NoError(t, err, "the content is right")
		bw.Abort()
		assertNoIngest(t, s, d)
	})
	t.Run("malformed digest", func(t *testing.T) {
		s := openStore(t)
		_, err := s.NewBlobWriter("sha256:../../etc", 3)
		require.Error(t, err)
		left, _ := os.ReadDir(s.TmpDir())
		require.Empty(t, left)
	})
}

// A blob written in a batch is not fsynced (the batch's syncfs makes it
// durable before index.json names it), as IngestBlob's.
func TestBlobWriterInBatchIsUnsynced(t *testing.T) {
	s := openStore(t)
	end := s.BeginBatch()
	l := makeLayer(t, map[string]string{"f": "1"})
	before := s.BlobSyncs()
	bw, err := s.NewBlobWriter(digest.FromBytes(l.blob), int64(len(l.blob)))
	require.NoError(t, err)
	// The way a pull writes it: its layer check reads through the writer.
	n, _, err := store.CheckLayer(io.TeeReader(bytes.NewReader(l.blob), bw), ocispec.MediaTypeImageLayerGzip)
	require.NoError(t, err)
	require.Positive(t, n)
	_, _, err = bw.Commit()
	require.NoError(t, err)
	require.Equal(t, before, s.BlobSyncs(), "a blob of a batch was fsynced")
	require.NoError(t, end())
}
