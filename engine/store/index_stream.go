package store

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A listing reads every entry of index.json once and keeps a few facts of
// each. The shared parsed index (readIndexShared) would keep the whole
// file for the rest of the run: at 10,000 images its 5 MB of raw bytes,
// its parsed entries and their annotation maps were over 13 MB of a
// listing's heap, twice that in RSS. eachIndexEntry instead decodes the
// file as it reads it, one entry at a time, through a 64 KiB buffer.

// errIndexShape is a well-formed JSON index.json that is not an OCI index.
var errIndexShape = errors.New("not an OCI index")

// eachIndexEntry calls fn with each entry of index.json in file order,
// without caching the index. Entries of a batch not yet written are
// included (after the file's, as readIndex lists them). A damaged file is
// an error naming it; what fn returns stops the walk and is returned.
func (s *Store) eachIndexEntry(fn func(ocispec.Descriptor) error) error {
	if s.pendingCount() > 0 {
		return s.eachSharedEntry(fn) // the file and the batch's entries (readIndex)
	}
	f, err := os.Open(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read index.json: %w", err)
	}
	defer f.Close()
	var fnErr error
	err = streamIndex(bufio.NewReaderSize(f, 64<<10), func(d ocispec.Descriptor) bool {
		fnErr = fn(d)
		return fnErr == nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("index.json in %s is corrupt (%v): restore it from a backup or remove the store", s.root, err)
	}
	return nil
}

// streamIndex decodes an index from r and calls fn with each entry of its
// manifests array until fn returns false. It reads r in 64 KiB chunks and
// splits the array with the scanner of indexraw.go (skipValue), decoding
// each entry with decodeEntry as decodeIndex does: encoding/json's
// Decoder, which scans every byte twice, cost ps -a 45 ms more at 10,000
// images. The other fields are checked with json.Valid; a second
// manifests field is refused, as decodeIndex refuses it.
func streamIndex(r io.Reader, fn func(ocispec.Descriptor) bool) error {
	c := &chunks{r: r, buf: make([]byte, 0, 64<<10)}
	if err := c.expect('{'); err != nil {
		return err
	}
	seen := false
	for first := true; ; first = false {
		b, err := c.peek()
		if err != nil {
			return err
		}
		if b == '}' && first {
			c.pos++
			break
		}
		if !first {
			if b == '}' {
				c.pos++
				break
			}
			if err := c.expect(','); err != nil {
				return err
			}
		}
		more, err := c.field(&seen, fn)
		if err != nil || !more {
			return err
		}
	}
	if b, err := c.peek(); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("%w: %q after the index", errIndexShape, b)
		}
		return err
	}
	return nil
}

// field reads one "key": value of the index; more is false when fn
// stopped the walk.
func (c *chunks) field(seen *bool, fn func(ocispec.Descriptor) bool) (more bool, err error) {
	raw, err := c.value()
	if err != nil {
		return false, err
	}
	var key string
	if err := json.Unmarshal(raw, &key); err != nil {
		return false, fmt.Errorf("%w: a key is not a string", errIndexShape)
	}
	if err := c.expect(':'); err != nil {
		return false, err
	}
	if key != "manifests" {
		v, err := c.value()
		if err == nil && !json.Valid(v) {
			err = fmt.Errorf("%w: field %q is not valid JSON", errIndexShape, key)
		}
		return err == nil, err
	}
	if *seen {
		return false, errors.New(`two "manifests" fields`)
	}
	*seen = true
	if b, err := c.peek(); err != nil || b != '[' {
		v, verr := c.value()
		if err == nil && verr == nil && string(v) == "null" {
			return true, nil // as json.Unmarshal reads it
		}
		return false, fmt.Errorf("%w: manifests is not an array", errIndexShape)
	}
	c.pos++
	return c.entries(fn)
}

// entries decodes the manifests array after its '['.
func (c *chunks) entries(fn func(ocispec.Descriptor) bool) (bool, error) {
	for i := 0; ; i++ {
		b, err := c.peek()
		if err != nil {
			return false, err
		}
		if b == ']' && i == 0 {
			c.pos++
			return true, nil
		}
		if i > 0 {
			if b == ']' {
				c.pos++
				return true, nil
			}
			if err := c.expect(','); err != nil {
				return false, err
			}
		}
		raw, err := c.value()
		if err != nil {
			return false, fmt.Errorf("manifests[%d]: %w", i, err)
		}
		var d ocispec.Descriptor
		if err := decodeEntry(raw, &d); err != nil {
			return false, fmt.Errorf("manifests[%d]: %w", i, err)
		}
		if !fn(d) {
			return false, nil
		}
	}
}

// chunks is a reader of JSON values that keeps only the unread part of
// its input and the value at hand.
type chunks struct {
	r   io.Reader
	buf []byte
	pos int
	eof bool
}

// fill reads more input, keeping buf[pos:]; io.EOF when there is none.
func (c *chunks) fill() error {
	if c.eof {
		return io.ErrUnexpectedEOF
	}
	n := copy(c.buf, c.buf[c.pos:])
	c.buf, c.pos = c.buf[:n], 0
	if len(c.buf) == cap(c.buf) {
		c.buf = slices.Grow(c.buf, cap(c.buf))
	}
	got, err := c.r.Read(c.buf[len(c.buf):cap(c.buf)])
	c.buf = c.buf[:len(c.buf)+got]
	if err == io.EOF {
		c.eof = true
		return nil
	}
	return err
}

// peek returns the next byte that is not white space (io.EOF at the end).
func (c *chunks) peek() (byte, error) {
	for {
		c.pos = skipSpace(c.buf, c.pos)
		if c.pos < len(c.buf) {
			return c.buf[c.pos], nil
		}
		if c.eof {
			return 0, io.EOF
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
}

func (c *chunks) expect(want byte) error {
	b, err := c.peek()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if b != want {
		return fmt.Errorf("%w: found %q where %q belongs", errIndexShape, b, want)
	}
	c.pos++
	return nil
}

// value returns the next JSON value's bytes (valid until the next call).
func (c *chunks) value() ([]byte, error) {
	if _, err := c.peek(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	for {
		// skipValue stops a scalar at the end of the buffer too: only a
		// terminator seen, or the end of the input, ends one.
		if e := skipValue(c.buf, c.pos); e > c.pos && (e < len(c.buf) || c.eof) {
			v := c.buf[c.pos:e]
			c.pos = e
			return v, nil
		} else if e == c.pos {
			return nil, fmt.Errorf("%w: a value is missing", errIndexShape)
		}
		if c.eof {
			return nil, io.ErrUnexpectedEOF
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
}
