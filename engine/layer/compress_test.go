package layer

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand"
	"os/exec"
	"runtime"
	"slices"
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

// Decompress and DecompressInline read the same streams to the same bytes;
// only gzip's read-ahead differs.
func TestDecompress(t *testing.T) {
	for name, open := range map[string]func(io.Reader) (io.ReadCloser, error){"Decompress": Decompress, "DecompressInline": DecompressInline} {
		t.Run(name, func(t *testing.T) {
			data := bytes.Repeat([]byte("berth layer "), 10000)
			for _, c := range []Compression{None, Gzip, Zstd} {
				blob := compress(t, data, c)
				if got := DetectCompression(blob); got != c {
					t.Errorf("DetectCompression = %s, want %s", got, c)
				}
				if got := decompressed(t, open, blob); !bytes.Equal(got, data) {
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
				rc, err := open(bytes.NewReader(blob))
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
			if _, err := open(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); err == nil {
				t.Error("a broken gzip header was accepted")
			}
		})
	}
}

// Unpacking reads layers through Decompress, several at once in a load: the gzip
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

// compressibleData is text with runs of noise, n bytes or a little more.
func compressibleData(seed int64, n int) []byte {
	var data bytes.Buffer
	r := rand.New(rand.NewSource(seed))
	words := []string{"layer ", "diff ", "apply ", "whiteout ", "\n"}
	for data.Len() < n {
		data.WriteString(words[r.Intn(len(words))])
		if r.Intn(50) == 0 {
			noise := make([]byte, 2000)
			r.Read(noise)
			data.Write(noise)
		}
	}
	return data.Bytes()
}

// The blob digest must not depend on the machine's core count, or two
// machines would store the same layer under different digests; nor on how
// the tar writer happens to cut its writes. The data spans several of
// zstd's frames and pgzip's blocks.
func TestCompressionIndependentOfCores(t *testing.T) {
	data := compressibleData(3, 3*zstdFrameSize+12345)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range []Compression{Gzip, Zstd} {
		var first []byte
		for _, procs := range []int{1, 2, 4, 8} {
			runtime.GOMAXPROCS(procs)
			blob := compress(t, data, c)
			if first == nil {
				first = blob
			} else if !bytes.Equal(blob, first) {
				t.Errorf("%s with GOMAXPROCS=%d differs from GOMAXPROCS=1", c, procs)
			}
		}
		var odd bytes.Buffer
		w, err := newCompressor(&odd, c, 0)
		check(t, err)
		r := rand.New(rand.NewSource(4))
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+r.Intn(300<<10))
			_, err := w.Write(rest[:n])
			check(t, err)
			rest = rest[n:]
		}
		check(t, w.Close())
		if !bytes.Equal(odd.Bytes(), first) {
			t.Errorf("%s: writes of other sizes gave other bytes", c)
		}
	}
}

// A zstd layer is a sequence of plain frames, as pzstd writes them, each
// of zstdFrameSize bytes of tar but the last: no skippable frames
// (zstd:chunked's table of contents), no dictionary, a checksum and the
// content size in every frame, and a window any decoder accepts. The
// reference decoder, when installed, and Berth's own must read it back
// whole.
func TestZstdIsPlainFrames(t *testing.T) {
	data := compressibleData(5, 2*zstdFrameSize+777)
	blob := compress(t, data, Zstd)
	var sizes []uint64
	for off := 0; off < len(blob); {
		var h zstd.Header
		check(t, h.Decode(blob[off:]))
		if h.WindowSize > zstdWindow || !h.HasCheckSum || h.DictionaryID != 0 || h.Skippable || !h.HasFCS {
			t.Fatalf("frame header at %d: %+v", off, h)
		}
		sizes = append(sizes, h.FrameContentSize)
		off += zstdFrameEnd(t, blob[off:])
	}
	if want := []uint64{zstdFrameSize, zstdFrameSize, uint64(len(data) - 2*zstdFrameSize)}; !slices.Equal(sizes, want) {
		t.Errorf("frames hold %v bytes of input, want %v", sizes, want)
	}
	if got := decompressed(t, Decompress, blob); !bytes.Equal(got, data) {
		t.Errorf("Decompress gave %d bytes, want the %d compressed", len(got), len(data))
	}
	if out, ok := zstdCLI(t, blob); ok && !bytes.Equal(out, data) {
		t.Errorf("zstd -d gave %d bytes, want the %d compressed", len(out), len(data))
	}
}

// decompressed reads blob whole through open (Decompress or
// DecompressInline).
func decompressed(t *testing.T, open func(io.Reader) (io.ReadCloser, error), blob []byte) []byte {
	t.Helper()
	rc, err := open(bytes.NewReader(blob))
	check(t, err)
	got, err := io.ReadAll(rc)
	check(t, err)
	check(t, rc.Close())
	return got
}

// zstdCLI decodes blob with the reference `zstd -d`; ok is false when it
// is not installed.
func zstdCLI(t *testing.T, blob []byte) (out []byte, ok bool) {
	t.Helper()
	if _, err := exec.LookPath("zstd"); err != nil {
		return nil, false
	}
	cmd := exec.Command("zstd", "-d", "-c", "-q")
	cmd.Stdin = bytes.NewReader(blob)
	out, err := cmd.Output()
	check(t, err)
	return out, true
}

// zstdFrameEnd walks one zstd frame's blocks (RFC 8878 section 3.1.1) and
// returns the offset just after it.
func zstdFrameEnd(t *testing.T, b []byte) int {
	t.Helper()
	var h zstd.Header
	check(t, h.Decode(b))
	off := h.HeaderSize
	for {
		if off+3 > len(b) {
			t.Fatalf("block header at %d runs past the blob", off)
		}
		bh := int(b[off]) | int(b[off+1])<<8 | int(b[off+2])<<16
		last, typ, size := bh&1 == 1, (bh>>1)&3, bh>>3
		off += 3
		switch typ {
		case 1: // RLE: one byte stands for size bytes
			off++
		case 3:
			t.Fatalf("reserved block type at %d", off-3)
		default: // raw or compressed
			off += size
		}
		if last {
			break
		}
	}
	return off + 4 // the content checksum
}
