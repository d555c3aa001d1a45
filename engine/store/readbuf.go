package store

import (
	"io"
	"sync"
)

// readSize is how much a blob ingest or a layer check asks of its source
// at a time. A pull reads each layer from the socket this way and, through
// the BlobWriter, writes it to the blob file: 1 MiB keeps those system
// calls at about 50 per 50 MiB layer (64 KiB made them 16 times as many).
const readSize = 1 << 20

// arenaBuffers is how many read buffers live in the arena: a pull checks
// Docker's 3 layers at once while its config comes in.
const arenaBuffers = 4

// readBuffer is one readSize buffer, from the arena or from the heap.
type readBuffer struct {
	b     []byte
	arena bool
}

// readBuffers hands out the read buffers of ingests and layer checks. The
// first arenaBuffers come from one anonymous mapping outside the Go heap
// (mapArena), asked for as transparent huge pages: a pull's 4 MiB of
// buffers then cost 2 page faults instead of about 1,000 (a fault costs
// ~15 µs on a paravirtualised guest), and, being off the heap, they no
// longer bring on the garbage collections of a pull (its heap is 2–5 MB,
// so four 1 MiB buffers on it were most of what triggered them). Beyond
// the arena, buffers are made on the heap and left to the collector.
type readBuffers struct {
	once sync.Once
	mu   sync.Mutex
	free []*readBuffer
}

var ingestReadBuffers readBuffers

func (r *readBuffers) get() *readBuffer {
	r.once.Do(func() {
		for _, b := range mapArena(arenaBuffers, readSize) {
			r.free = append(r.free, &readBuffer{b: b, arena: true})
		}
	})
	r.mu.Lock()
	if n := len(r.free); n > 0 {
		b := r.free[n-1]
		r.free = r.free[:n-1]
		r.mu.Unlock()
		return b
	}
	r.mu.Unlock()
	return &readBuffer{b: make([]byte, readSize)}
}

// put returns b once nothing reads from or into it any more.
func (r *readBuffers) put(b *readBuffer) {
	if !b.arena {
		return
	}
	r.mu.Lock()
	r.free = append(r.free, b)
	r.mu.Unlock()
}

// chunkReader reads its source len(buf) bytes at a time and serves the
// smaller reads above it (a layer check's bufio.Reader, which the inflater
// needs for its fast path) from buf. A source error is returned once buf is
// drained, and again on every later read.
type chunkReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	err        error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.start == c.end {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.r.Read(c.buf)
		c.start, c.end, c.err = 0, n, err
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, c.buf[c.start:c.end])
	c.start += n
	return n, nil
}
