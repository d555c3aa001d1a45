package layer

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func compress(t testing.TB, data []byte, c Compression) []byte {
	var buf bytes.Buffer
	w, err := newCompressor(&buf, c, 0)
	check(t, err)
	if w == nil {
		return data
	}
	_, err = w.Write(data)
	check(t, err)
	check(t, w.Close())
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	data := bytes.Repeat([]byte("berth layer "), 10000)
	for _, c := range []Compression{None, Gzip, Zstd} {
		blob := compress(t, data, c)
		if got := DetectCompression(blob); got != c {
			t.Errorf("DetectCompression = %s, want %s", got, c)
		}
		rc, err := Decompress(bytes.NewReader(blob))
		check(t, err)
		got, err := io.ReadAll(rc)
		check(t, err)
		check(t, rc.Close())
		if !bytes.Equal(got, data) {
			t.Errorf("%s: round trip lost data (%d bytes, want %d)", c, len(got), len(data))
		}
	}
	// Other tools' output decodes too.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	for name, blob := range map[string][]byte{"stdlib gzip": gz.Bytes(), "zstd": enc.EncodeAll(data, nil), "empty": nil} {
		rc, err := Decompress(bytes.NewReader(blob))
		check(t, err)
		got, err := io.ReadAll(rc)
		check(t, err)
		want := data
		if blob == nil {
			want = nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %d bytes", name, len(got))
		}
	}
	if _, err := Decompress(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); err == nil {
		t.Error("a broken gzip header was accepted")
	}
}

// A pull checks three layers at once, each through Decompress: the gzip
// reader's read-ahead must not cost megabytes per layer (pgzip's default
// is 4 blocks of 1 MiB, allocated when the reader is made), and a stream
// of many blocks still decodes whole.
func TestDecompressGzipReadAheadIsBounded(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.New(rand.NewSource(1)).Read(data[:1<<20])
	blob := compress(t, data, Gzip)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, err := Decompress(bytes.NewReader(blob))
	check(t, err)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("opening a gzip layer allocated %d KiB, want at most 1 MiB", grew>>10)
	}
	got, err := io.ReadAll(rc)
	check(t, err)
	check(t, rc.Close())
	if !bytes.Equal(got, data) {
		t.Errorf("round trip lost data (%d bytes, want %d)", len(got), len(data))
	}
}

func TestCompressionNames(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Compression
		mt   string
	}{{"gzip", Gzip, MediaTypeGzip}, {"zstd", Zstd, MediaTypeZstd}, {"none", None, MediaTypeTar}, {"", Gzip, MediaTypeGzip}} {
		c, err := ParseCompression(tc.in)
		if err != nil || c != tc.want || c.MediaType() != tc.mt {
			t.Errorf("ParseCompression(%q) = %s, %v (media type %s)", tc.in, c, err, c.MediaType())
		}
		back, err := CompressionOfMediaType(tc.mt)
		if err != nil || back != tc.want {
			t.Errorf("CompressionOfMediaType(%s) = %s, %v", tc.mt, back, err)
		}
	}
	if _, err := ParseCompression("lz4"); err == nil {
		t.Error("lz4 accepted")
	}
	var zero DiffOptions
	if zero.Compression != Gzip {
		t.Error("the zero DiffOptions must compress with gzip")
	}
	if c, _ := CompressionOfMediaType("application/vnd.docker.image.rootfs.diff.tar.gzip"); c != Gzip {
		t.Error("Docker's gzip media type not recognised")
	}
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The blob digest must not depend on the machine's core count, or two
// machines would store the same layer under different digests.
func TestCompressionIndependentOfCores(t *testing.T) {
	var data bytes.Buffer
	r := rand.New(rand.NewSource(3))
	words := []string{"layer ", "diff ", "apply ", "whiteout ", "\n"}
	for data.Len() < 3<<20 {
		data.WriteString(words[r.Intn(len(words))])
		if r.Intn(50) == 0 {
			noise := make([]byte, 2000)
			r.Read(noise)
			data.Write(noise)
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range []Compression{Gzip, Zstd} {
		var first []byte
		for _, procs := range []int{1, 2, 4} {
			runtime.GOMAXPROCS(procs)
			blob := compress(t, data.Bytes(), c)
			if first == nil {
				first = blob
			} else if !bytes.Equal(blob, first) {
				t.Errorf("%s with GOMAXPROCS=%d differs from GOMAXPROCS=1", c, procs)
			}
		}
	}
}
