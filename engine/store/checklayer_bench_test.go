package store

import (
	"archive/tar"
	"bytes"
	"math/rand"
	"testing"

	"github.com/klauspost/compress/gzip"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkCheckLayer checks a pulled layer as a pull does: a gzip tar
// holding 10 MiB of random bytes (stored deflate blocks), decompressed,
// parsed and hashed for its diff ID.
//
//	go test -run '^$' -bench CheckLayer -benchtime 20x ./engine/store
func BenchmarkCheckLayer(b *testing.B) {
	data := make([]byte, 10<<20)
	rand.New(rand.NewSource(1)).Read(data)
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		b.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	b.SetBytes(int64(tarBuf.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := CheckLayer(bytes.NewReader(gz.Bytes()), ocispec.MediaTypeImageLayerGzip); err != nil {
			b.Fatal(err)
		}
	}
}
