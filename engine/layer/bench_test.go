//go:build linux

package layer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// benchTree writes the commit benchmark tree: randomMiB of random
// data in one file plus small text files, and returns its root and size.
func benchTree(b *testing.B, randomMiB, smallFiles int) (string, int64) {
	b.Helper()
	root := filepath.Join(b.TempDir(), "tree")
	r := rand.New(rand.NewSource(1))
	var total int64
	if randomMiB > 0 {
		must(b, os.MkdirAll(filepath.Join(root, "data"), 0o755))
		f, err := os.Create(filepath.Join(root, "data/random.bin"))
		must(b, err)
		chunk := make([]byte, 1<<20)
		for range randomMiB {
			r.Read(chunk)
			_, err := f.Write(chunk)
			must(b, err)
		}
		must(b, f.Close())
		total += int64(randomMiB) << 20
	}
	words := []string{"alpha", "beta", "redis", "server", "config", "usr", "lib", "the", "musl", "\n"}
	var body bytes.Buffer
	for i := range smallFiles {
		body.Reset()
		for n := 200 + r.Intn(4000); body.Len() < n; {
			body.WriteString(words[r.Intn(len(words))])
			body.WriteByte(' ')
		}
		p := filepath.Join(root, "small", fmt.Sprintf("d%02d", i%50), "f"+strconv.Itoa(i)+".txt")
		writeFile(b, p, body.String(), 0o644)
		total += int64(body.Len())
	}
	return root, total
}

// goSource is $GOROOT/src: 150 MiB of compressible text in 15,000 files, a
// stand-in for a package manager's output.
func goSource(b *testing.B) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skip("no go command")
	}
	return filepath.Join(strings.TrimSpace(string(out)), "src")
}

var benchShapes = []struct {
	name             string
	randomMiB, files int
	compressions     []Compression
}{
	{"100MiB+5000files", 100, 5000, []Compression{Gzip, Zstd, None}},
	{"small", 1, 200, []Compression{Gzip}},
}

func BenchmarkDiff(b *testing.B) {
	for _, shape := range benchShapes {
		for _, c := range shape.compressions {
			b.Run(shape.name+"/"+c.String(), func(b *testing.B) {
				root, _ := benchTree(b, shape.randomMiB, shape.files)
				benchDiffDir(b, root, c)
			})
		}
	}
}

func BenchmarkDiffGoSource(b *testing.B) {
	for _, c := range []Compression{Gzip, Zstd, None} {
		b.Run(c.String(), func(b *testing.B) { benchDiffDir(b, goSource(b), c) })
	}
}

// benchDiffDir diffs root with compression c, reporting the tar's bytes
// per second and the blob's size over the tar's.
func benchDiffDir(b *testing.B, root string, c Compression) {
	var res *DiffResult
	for b.Loop() {
		var err error
		res, err = Diff(context.Background(), root, io.Discard, DiffOptions{Compression: c})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(res.UncompressedSize)
	b.ReportMetric(float64(res.Size)/float64(res.UncompressedSize), "ratio")
}

func BenchmarkApply(b *testing.B) {
	for _, shape := range benchShapes {
		b.Run(shape.name+"/gzip", func(b *testing.B) {
			root, size := benchTree(b, shape.randomMiB, shape.files)
			var blob bytes.Buffer
			if _, err := Diff(context.Background(), root, &blob, DiffOptions{}); err != nil {
				b.Fatal(err)
			}
			must(b, os.RemoveAll(root))
			out := b.TempDir()
			b.SetBytes(size)
			b.ResetTimer()
			i := 0
			for b.Loop() {
				dst := filepath.Join(out, strconv.Itoa(i))
				i++
				if _, err := Apply(context.Background(), dst, bytes.NewReader(blob.Bytes()), ApplyOptions{Whiteouts: WhiteoutDelete}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				must(b, os.RemoveAll(dst))
				b.StartTimer()
			}
		})
	}
}

// BenchmarkCompressors compresses the commit benchmark's tar with each
// candidate, the measurement behind the default (docs/layers.md).
func BenchmarkCompressors(b *testing.B) {
	root, _ := benchTree(b, 100, 5000)
	var commitTar, sourceTar bytes.Buffer
	if _, err := Diff(context.Background(), root, &commitTar, DiffOptions{Compression: None}); err != nil {
		b.Fatal(err)
	}
	must(b, os.RemoveAll(root))
	if _, err := Diff(context.Background(), goSource(b), &sourceTar, DiffOptions{Compression: None}); err != nil {
		b.Fatal(err)
	}
	candidates := []struct {
		name string
		make func(io.Writer) (io.WriteCloser, error)
	}{
		{"klauspost-gzip-1-single-core", func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriterLevel(w, 1) }},
		{"pgzip-1", func(w io.Writer) (io.WriteCloser, error) { return newCompressor(w, Gzip, 1) }},
		{"pgzip-6", func(w io.Writer) (io.WriteCloser, error) { return newCompressor(w, Gzip, 6) }},
		{"zstd-1", func(w io.Writer) (io.WriteCloser, error) { return newCompressor(w, Zstd, 1) }},
		{"zstd-3", func(w io.Writer) (io.WriteCloser, error) { return newCompressor(w, Zstd, 3) }},
	}
	for _, input := range []struct {
		name string
		data []byte
	}{{"commit-tree", commitTar.Bytes()}, {"go-source", sourceTar.Bytes()}} {
		for _, c := range candidates {
			benchCompressor(b, input.name+"/"+c.name, input.data, c.make)
		}
	}
}

func benchCompressor(b *testing.B, name string, data []byte, newWriter func(io.Writer) (io.WriteCloser, error)) {
	b.Run(name, func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		var out countWriter
		for b.Loop() {
			out = 0
			w, err := newWriter(&out)
			must(b, err)
			_, err = io.Copy(w, bytes.NewReader(data))
			must(b, err)
			must(b, w.Close())
		}
		b.ReportMetric(float64(out)/float64(len(data)), "ratio")
	})
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
