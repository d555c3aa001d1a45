package layer

import (
	"bytes"
	"io"
	"testing"
)

// NewCompressor writes what Diff would (same compressor, same level), in
// the compression its bytes announce, and never closes the writer under it.
func TestNewCompressorRoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte("recompressed for a push "), 5000)
	for _, c := range []Compression{None, Gzip, Zstd} {
		var buf bytes.Buffer
		w, err := NewCompressor(&buf, c, 0)
		check(t, err)
		_, err = w.Write(data)
		check(t, err)
		check(t, w.Close())
		if !bytes.Equal(buf.Bytes(), compress(t, data, c)) {
			t.Errorf("%s: NewCompressor's bytes differ from the commit compressor's", c)
		}
		if got := DetectCompression(buf.Bytes()); got != c {
			t.Errorf("%s: the output looks like %s", c, got)
		}
		r, err := Decompress(&buf)
		check(t, err)
		back, err := io.ReadAll(r)
		check(t, err)
		if !bytes.Equal(back, data) {
			t.Errorf("%s: round trip changed the data", c)
		}
	}
	if _, err := NewCompressor(io.Discard, Compression(42), 0); err == nil {
		t.Error("an unknown compression must be refused")
	}
}
