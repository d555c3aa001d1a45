package store

import (
	"bytes"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkIngestCheckedLayer stores a 10 MiB gzip layer of random bytes
// in a store batch and checks it (digest, size, tar, diff ID), the store's
// side of one layer of a pull:
//
//   - tee: what a pull does, one goroutine: CheckLayer reads the blob
//     through an io.TeeReader into a BlobWriter, which is committed after.
//
//   - pipe: the design it replaced, for comparison: IngestBlob copies the
//     blob into the store and an io.Pipe hands every piece to CheckLayer
//     on a second goroutine.
//
//     go test -run '^$' -bench IngestCheckedLayer -benchtime 20x ./engine/store
//
// cpu-ms/op would be the figure to compare; ns/op includes the page cache
// writes and, on a loaded machine, the wait for a core.
func BenchmarkIngestCheckedLayer(b *testing.B) {
	blob := gzipRandomLayer(b, 10<<20)
	d := digest.FromBytes(blob)
	size := int64(len(blob))
	ingest := map[string]func(s *Store) error{
		"tee": func(s *Store) error {
			bw, err := s.NewBlobWriter(d, size)
			if err != nil {
				return err
			}
			defer bw.Abort()
			src := io.TeeReader(io.LimitReader(bytes.NewReader(blob), size+1), bw)
			if _, _, err := CheckLayer(src, ocispec.MediaTypeImageLayerGzip); err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, src); err != nil {
				return err
			}
			_, _, err = bw.Commit()
			return err
		},
		"pipe": func(s *Store) error {
			pr, pw := io.Pipe()
			checked := make(chan error, 1)
			go func() {
				_, _, err := CheckLayer(pr, ocispec.MediaTypeImageLayerGzip)
				_, _ = io.Copy(io.Discard, pr)
				checked <- err
			}()
			_, _, err := s.IngestBlob(io.TeeReader(bytes.NewReader(blob), pw), d, size)
			pw.CloseWithError(err)
			if cerr := <-checked; err == nil {
				err = cerr
			}
			return err
		},
	}
	for _, name := range []string{"tee", "pipe"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, err := Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				end := s.BeginBatch()
				b.StartTimer()
				if err := ingest[name](s); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := end(); err != nil {
					b.Fatal(err)
				}
				s.Close()
				b.StartTimer()
			}
		})
	}
}
