package layer

import (
	"errors"
	"io"
	"runtime"
	"testing"
)

// An empty stream is still valid zstd: one empty frame, which both
// decoders read as nothing.
func TestZstdFramesEmpty(t *testing.T) {
	blob := compress(t, nil, Zstd)
	if DetectCompression(blob) != Zstd || len(blob) == 0 {
		t.Fatalf("an empty stream compressed to %x", blob)
	}
	if got := decompressed(t, Decompress, blob); len(got) != 0 {
		t.Errorf("Decompress gave %d bytes, want none", len(got))
	}
	if out, ok := zstdCLI(t, blob); ok && len(out) != 0 {
		t.Errorf("zstd -d gave %d bytes, want none", len(out))
	}
}

var errDiskFull = errors.New("disk full")

// fullDisk takes n bytes, then fails every write, counting them.
type fullDisk struct{ n, failed int }

func (f *fullDisk) Write(p []byte) (int, error) {
	if len(p) > f.n {
		f.failed++
		return 0, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

// A write error under the compressor stops the stream: Write and Close
// return it (after Close no frame is still being compressed), and nothing
// is written after it.
func TestZstdFramesWriteError(t *testing.T) {
	data := compressibleData(7, 6*zstdFrameSize)
	disk := &fullDisk{n: 1000}
	w, err := newCompressor(disk, Zstd, 0)
	check(t, err)
	var writeErr error
	for rest := data; len(rest) > 0 && writeErr == nil; {
		n := min(len(rest), 100<<10)
		_, writeErr = w.Write(rest[:n])
		rest = rest[n:]
	}
	if !errors.Is(writeErr, errDiskFull) {
		t.Errorf("Write returned %v, want the writer's error", writeErr)
	}
	if err := w.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close returned %v, want the writer's error", err)
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Error("a write after Close was accepted")
	}
	if disk.failed != 1 {
		t.Errorf("the compressor wrote %d times to a writer that had failed, want 1 write", disk.failed)
	}
}

// The compressor's memory does not grow with the stream: a 24 MiB stream
// allocates what an 8 MiB one does (frames' buffers and encoders, made
// once), and that is 3.5 MiB per worker, not the stream.
func TestZstdFramesMemoryIsBounded(t *testing.T) {
	data := compressibleData(9, 24<<20)
	alloc := func(n int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		w, err := newCompressor(io.Discard, Zstd, 0)
		check(t, err)
		for rest := data[:n]; len(rest) > 0; {
			k := min(len(rest), 32<<10)
			_, err := w.Write(rest[:k])
			check(t, err)
			rest = rest[k:]
		}
		check(t, w.Close())
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, big := alloc(8<<20), alloc(24<<20)
	if big > small+512<<10 {
		t.Errorf("24 MiB of input allocated %d KiB, 8 MiB %d KiB: the compressor's memory grows with the stream", big>>10, small>>10)
	}
	// Per worker a frame's input and output (1 MiB each) and an encoder
	// (its history and tables, about 1.2 MiB); one more input filling.
	if limit := uint64(zstdConcurrency())*7<<19 + 1<<20; big > limit {
		t.Errorf("compressing allocated %d KiB with %d workers, want at most %d KiB", big>>10, zstdConcurrency(), limit>>10)
	}
}
