package layer

import "io"

// NewCompressor wraps w in c's compressor at level (0 picks the default:
// gzip 1, zstd 1), the same one Diff writes with, so a layer recompressed
// for a push (registry's --compression) comes out as a commit would have
// made it. None returns a writer that passes bytes through; Close never
// closes w.
func NewCompressor(w io.Writer, c Compression, level int) (io.WriteCloser, error) {
	zw, err := newCompressor(w, c, level)
	if err != nil {
		return nil, err
	}
	if zw == nil {
		return nopWriteCloser{w}, nil
	}
	return zw, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
