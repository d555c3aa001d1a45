package layer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Compression is how a layer blob is compressed. The zero value is Gzip,
// the default of every registry and Docker.
type Compression int

// Compressions.
const (
	// Gzip compresses on all cores (pgzip, level 1 unless DiffOptions.Level says otherwise).
	Gzip Compression = iota
	// None writes the plain tar.
	None
	// Zstd writes a tar+zstd blob.
	Zstd
)

// Default compression levels, chosen by measurement (docs/layers.md). As
// for gzip, zstd's level 1 (klauspost's fastest encoder): on a Debian
// package layer it writes 2% more bytes than `zstd -3` for a third less
// CPU, where level 3 (klauspost's double-fast encoder) writes 1% more than
// `zstd -3` and costs 1.4 times its CPU.
const (
	DefaultGzipLevel = 1
	DefaultZstdLevel = 1
)

// zstd decoding refuses frames whose window exceeds this, so a hostile blob
// cannot make Apply allocate gigabytes; it is the zstd CLI's own default.
const zstdMaxWindow = 128 << 20

func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", int(c))
}

// MediaType is the OCI layer media type of a blob with this compression.
func (c Compression) MediaType() string {
	switch c {
	case None:
		return MediaTypeTar
	case Zstd:
		return MediaTypeZstd
	}
	return MediaTypeGzip
}

// ParseCompression accepts "gzip", "zstd", "none" (or "uncompressed"), as
// `--compression` flags spell them.
func ParseCompression(s string) (Compression, error) {
	switch strings.ToLower(s) {
	case "gzip", "":
		return Gzip, nil
	case "zstd":
		return Zstd, nil
	case "none", "uncompressed", "tar":
		return None, nil
	}
	return Gzip, fmt.Errorf("unknown compression %q: use gzip, zstd or none", s)
}

// CompressionOfMediaType maps a layer media type (OCI or Docker) to its compression.
func CompressionOfMediaType(mediaType string) (Compression, error) {
	switch {
	case strings.HasSuffix(mediaType, "+zstd") || strings.HasSuffix(mediaType, ".zstd"):
		return Zstd, nil
	case strings.HasSuffix(mediaType, "+gzip") || strings.HasSuffix(mediaType, ".gzip"):
		return Gzip, nil
	case strings.HasSuffix(mediaType, ".tar") || strings.HasSuffix(mediaType, ".tar.v1"):
		return None, nil
	}
	return None, fmt.Errorf("unknown layer media type %q", mediaType)
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// DetectCompression looks at the first bytes of a blob.
func DetectCompression(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case bytes.HasPrefix(head, zstdMagic):
		return Zstd
	}
	return None
}

// Decompress detects gzip, zstd or a plain tar by its magic bytes and returns
// the uncompressed stream. Closing it releases the decoder, not r. Gzip is
// decompressed ahead of the caller (pgzip's read-ahead, below), so that
// unpacking overlaps decompression with writing files.
func Decompress(r io.Reader) (io.ReadCloser, error) { return decompress(r, true) }

// DecompressInline is Decompress without gzip's read-ahead: the stream is
// decompressed on the caller's goroutine. It is for a caller that reads
// several streams at once on every core already (a pull checks its layers
// in parallel), where the read-ahead's goroutine, blocks and copy only add
// CPU: one plain reader decompresses a 10 MiB layer in a third of the CPU
// time.
func DecompressInline(r io.Reader) (io.ReadCloser, error) { return decompress(r, false) }

func decompress(r io.Reader, readAhead bool) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read layer header: %w", err)
	}
	switch DetectCompression(head) {
	case Gzip:
		if !readAhead {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return nil, fmt.Errorf("open gzip layer: %w", err)
			}
			return zr, nil
		}
		zr, err := pgzip.NewReaderN(br, gunzipBlockSize, gunzipBlocks)
		if err != nil {
			return nil, fmt.Errorf("open gzip layer: %w", err)
		}
		return zr, nil
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("open zstd layer: %w", err)
		}
		return zstdReadCloser{zr}, nil
	}
	return io.NopCloser(br), nil
}

type zstdReadCloser struct{ *zstd.Decoder }

func (z zstdReadCloser) Close() error {
	z.Decoder.Close()
	return nil
}

// pgzip's reader decompresses ahead of its caller, by default 4 blocks of
// 1 MiB, all allocated up front: 4 MiB per layer, and several layers may
// be read at once. gzip decompresses on one core whatever the block size,
// so 3 blocks of 256 KiB keep the read-ahead overlapping the caller's work
// (hashing, tar parsing, writing files) for a quarter of the memory.
const (
	gunzipBlockSize = 256 << 10
	gunzipBlocks    = 3
)

// gzipBlockSize is the unit pgzip compresses on each core.
const gzipBlockSize = 256 << 10

// zstd compresses a stream on up to zstdMaxConcurrency cores, one frame
// of zstdFrameSize bytes per worker at a time (zstdFrames). The window is
// 256 KiB: each frame's encoder keeps the window and a block of history,
// and a decoder needs no more than the window per frame; a 512 KiB window
// would write 0.3% fewer bytes for that much more memory per worker.
const (
	zstdWindow         = 256 << 10
	zstdMaxConcurrency = 4
)

// zstdConcurrency is how many frames are compressed at once. The bytes do
// not depend on it, only the memory (about 2.5 MiB a worker) and the time.
func zstdConcurrency() int {
	return max(1, min(runtime.GOMAXPROCS(0), zstdMaxConcurrency))
}

// newCompressor wraps w in the compressor c; None returns nil.
func newCompressor(w io.Writer, c Compression, level int) (io.WriteCloser, error) {
	switch c {
	case None:
		return nil, nil
	case Gzip:
		if level == 0 {
			level = DefaultGzipLevel
		}
		zw, err := pgzip.NewWriterLevel(w, level)
		if err != nil {
			return nil, fmt.Errorf("gzip level %d: %w", level, err)
		}
		// pgzip's default 1 MiB blocks cost a fresh writer several MiB of
		// zeroed buffers, which dominates the commit of a build step's small
		// layer; 256 KiB blocks keep every core busy on big layers too.
		if err := zw.SetConcurrency(gzipBlockSize, 2*runtime.GOMAXPROCS(0)); err != nil {
			return nil, err
		}
		return zw, nil
	case Zstd:
		if level == 0 {
			level = DefaultZstdLevel
		}
		zw, err := newZstdFrames(w, level, zstdConcurrency())
		if err != nil {
			return nil, fmt.Errorf("zstd level %d: %w", level, err)
		}
		return zw, nil
	}
	return nil, fmt.Errorf("unknown compression %d", int(c))
}
