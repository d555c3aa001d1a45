package layer

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// zstdFrameSize is the tar bytes each zstd frame of a layer holds (the last
// one holds what is left).
const zstdFrameSize = 1 << 20

// zstdFrames compresses a stream on several cores as independent zstd
// frames of zstdFrameSize bytes of input each, written in order: RFC 8878
// makes a zstd stream "one or more frames", and every decoder (zstd -d,
// klauspost's in containerd, Docker and Podman, Berth's own) reads them
// one after the other, as pzstd's output. Its memory is fixed and small:
// one frame filling, and per worker a frame being compressed, its output
// and an encoder. klauspost's own parallel mode (WithConcurrentBlocks)
// keeps up to two jobs more in flight than it has workers and grows their
// outputs by appending, which put a zstd commit 15 MB above a gzip one
// (docs/layers.md, "Memory of a zstd commit").
//
// The frames are cut every zstdFrameSize bytes of input, whatever the
// sizes of the writes or the number of workers, so the bytes are the same
// on any machine. Write and Close are for one goroutine; the compression
// runs in goroutines of their own, which Close always waits for.
type zstdFrames struct {
	w       io.Writer
	enc     *zstd.Encoder // EncodeAll on up to len(slots) goroutines at once
	filling []byte        // the frame being written, up to zstdFrameSize
	slots   []zstdSlot    // frames being compressed, in turn
	next    int           // the slot the next frame goes to
	wrote   bool          // a frame was handed to a slot
	err     error         // the first error writing to w
	closed  bool
}

// zstdSlot is one worker's frame: its input, its output once done.
type zstdSlot struct {
	in, out []byte
	err     error         // the encoder's panic, as an error
	busy    bool          // a frame is in it, not yet written to w
	done    chan struct{} // receives once the frame is compressed
}

func newZstdFrames(w io.Writer, level, workers int) (*zstdFrames, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithLowerEncoderMem(true),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderConcurrency(workers))
	if err != nil {
		return nil, err
	}
	z := &zstdFrames{w: w, enc: enc, slots: make([]zstdSlot, workers)}
	for i := range z.slots {
		z.slots[i].done = make(chan struct{}, 1)
	}
	return z, nil
}

// Write copies p into frames, handing each full one to a worker.
func (z *zstdFrames) Write(p []byte) (int, error) {
	if z.closed {
		return 0, zstd.ErrEncoderClosed
	}
	n := 0
	for len(p) > 0 {
		if z.err != nil {
			return n, z.err
		}
		if z.filling == nil {
			z.filling = make([]byte, 0, zstdFrameSize)
		}
		k := copy(z.filling[len(z.filling):zstdFrameSize], p)
		z.filling = z.filling[:len(z.filling)+k]
		p, n = p[k:], n+k
		if len(z.filling) == zstdFrameSize {
			z.dispatch()
		}
	}
	return n, z.err
}

// dispatch hands the filling frame to the next slot, after writing out
// the frame that slot held (the oldest one in flight), and takes that
// slot's input buffer as the next frame's. After an error nothing more is
// compressed.
func (z *zstdFrames) dispatch() {
	s := &z.slots[z.next]
	z.finish(s)
	if z.err != nil {
		z.filling = z.filling[:0]
		return
	}
	s.in, z.filling = z.filling, s.in[:0]
	if s.out == nil {
		// The most a frame can take, so the buffer never grows.
		s.out = make([]byte, 0, z.enc.MaxEncodedSize(zstdFrameSize))
	}
	s.busy, z.wrote = true, true
	go s.compress(z.enc)
	z.next = (z.next + 1) % len(z.slots)
}

// compress encodes the slot's input as one frame. klauspost's EncodeAll
// panics where its stream encoder returns an error; a commit must fail,
// not crash.
func (s *zstdSlot) compress(enc *zstd.Encoder) {
	defer func() {
		if r := recover(); r != nil {
			s.err = fmt.Errorf("zstd encoder: %v", r)
		}
		s.done <- struct{}{}
	}()
	s.out = enc.EncodeAll(s.in, s.out[:0])
}

// finish waits for the slot's frame, if it holds one, and writes it to w
// unless an earlier write failed.
func (z *zstdFrames) finish(s *zstdSlot) {
	if !s.busy {
		return
	}
	<-s.done
	s.busy = false
	if z.err != nil {
		return
	}
	if s.err != nil {
		z.err = s.err
		return
	}
	if _, err := z.w.Write(s.out); err != nil {
		z.err = err
	}
}

// Close compresses the last frame (an empty stream still gets one, so the
// blob is valid zstd), writes every frame still in flight in order, and
// returns the first error writing them.
func (z *zstdFrames) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	if (len(z.filling) > 0 || !z.wrote) && z.err == nil {
		z.dispatch()
	}
	for range z.slots {
		z.finish(&z.slots[z.next])
		z.next = (z.next + 1) % len(z.slots)
	}
	z.filling = nil
	for i := range z.slots {
		z.slots[i].in, z.slots[i].out = nil, nil
	}
	return z.err
}
