package store

import (
	"archive/tar"
	"bytes"
	"io"
	"math/rand"
	"testing"

	"github.com/klauspost/compress/gzip"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkCheckLayer checks a pulled layer as a pull does: a gzip tar
// holding 10 MiB of random bytes (stored deflate blocks), decompressed,
// parsed and hashed for its diff ID. SHA-256 is two thirds of it.
//
//	go test -run '^$' -bench CheckLayer -benchtime 20x ./engine/store
func BenchmarkCheckLayer(b *testing.B) {
	const size = 10 << 20
	blob := gzipRandomLayer(b, size)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, _, err := CheckLayer(bytes.NewReader(blob), ocispec.MediaTypeImageLayerGzip)
		if err != nil || n < size {
			b.Fatalf("checked %d bytes: %v", n, err)
		}
	}
}

// gzipRandomLayer is a gzip tar holding size random bytes (stored deflate
// blocks, so compressed and uncompressed are about the same size).
func gzipRandomLayer(b *testing.B, size int64) []byte {
	var blob bytes.Buffer
	zw, err := gzip.NewWriterLevel(&blob, gzip.BestSpeed)
	if err != nil {
		b.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "random.bin", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(tw, rand.New(rand.NewSource(1)), size); err != nil {
		b.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return blob.Bytes()
}
