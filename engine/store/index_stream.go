package store

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

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
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		for _, d := range idx.Manifests {
			if err := fn(d); err != nil {
				return err
			}
		}
		return nil
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
// manifests array until fn returns false. The other fields are checked
// for JSON syntax only; a second manifests field is refused, as
// decodeIndex refuses it.
func streamIndex(r io.Reader, fn func(ocispec.Descriptor) bool) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != "manifests" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if seen {
			return errors.New(`two "manifests" fields`)
		}
		seen = true
		more, err := streamEntries(dec, fn)
		if err != nil || !more {
			return err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the index", errIndexShape)
	}
	return nil
}

// streamEntries decodes the manifests array at dec's position; more is
// false when fn stopped the walk.
func streamEntries(dec *json.Decoder, fn func(ocispec.Descriptor) bool) (more bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return true, nil // "manifests": null, as json.Unmarshal reads it
	}
	if tok != json.Delim('[') {
		return false, fmt.Errorf("%w: manifests is not an array", errIndexShape)
	}
	var raw json.RawMessage
	for i := 0; dec.More(); i++ {
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
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
	return true, expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("%w: found %v where %q belongs", errIndexShape, tok, want)
	}
	return nil
}
