package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// index.json lists every image of the store, so a build that adds one
// image used to re-encode all of them (json.MarshalIndent of the whole
// index): the cost of an uncached build grew with the store. The store now
// keeps the raw JSON of each entry as read (or last written) beside the
// parsed index, and writeIndex copies the bytes of every entry that is
// unchanged; only new or changed entries are encoded. The file stays the
// same OCI index, byte for byte what MarshalIndent would write for entries
// Berth wrote, and an entry another tool wrote keeps its bytes (and any
// field Berth does not know) until Berth changes it.

// decodeIndex parses index.json and returns each entry's raw bytes,
// parallel to the index's Manifests. The file is scanned once: the
// manifests array is split into its entries by a small scanner (which
// checks the array's own syntax), each entry is decoded on its own, and the
// rest of the index is decoded with an empty array in place of the
// entries, so every byte is validated once by encoding/json.
func decodeIndex(data []byte) (*ocispec.Index, []json.RawMessage, error) {
	start, end, raws, err := splitManifests(data)
	if err != nil {
		return nil, nil, err
	}
	idx := newIndex()
	rest := data
	if start >= 0 {
		rest = make([]byte, 0, len(data)-(end-start)+2)
		rest = append(append(append(rest, data[:start]...), "[]"...), data[end:]...)
	}
	if err := json.Unmarshal(rest, idx); err != nil {
		return nil, nil, err
	}
	if len(idx.Manifests) > 0 {
		return nil, nil, errors.New(`two "manifests" fields`)
	}
	idx.Manifests = make([]ocispec.Descriptor, len(raws))
	for i, r := range raws {
		if err := decodeEntry(r, &idx.Manifests[i]); err != nil {
			return nil, nil, fmt.Errorf("manifests[%d]: %w", i, err)
		}
	}
	return idx, raws, nil
}

// errIndexSyntax is what the scanner of the manifests array reports.
var errIndexSyntax = errors.New("malformed manifests array")

// splitManifests finds the top-level "manifests" array of data, returns
// its bounds [start, end) (start is -1 when there is none, or it is not an
// array: the full decode then reports it) and the raw bytes of each
// element. Anything else about data is left to encoding/json.
func splitManifests(data []byte) (start, end int, raws []json.RawMessage, err error) {
	if i := manifestsArray(data); i >= 0 {
		return splitArray(data, i)
	}
	return -1, 0, nil, nil
}

// manifestsArray returns where the top-level "manifests" array of data
// starts (its '['), or -1.
func manifestsArray[T []byte | string](data T) int {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return -1
	}
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] == '"' {
		keyEnd := skipValue(data, i)
		if keyEnd < 0 {
			return -1
		}
		key := data[i:keyEnd]
		i = skipSpace(data, keyEnd)
		if i >= len(data) || data[i] != ':' {
			return -1
		}
		i = skipSpace(data, i+1)
		if string(key) == `"manifests"` && i < len(data) && data[i] == '[' {
			return i
		}
		if i = skipValue(data, i); i < 0 {
			return -1
		}
		i = skipSpace(data, i)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return -1
}

// splitArray splits the array at data[start] into its elements.
func splitArray(data []byte, start int) (int, int, []json.RawMessage, error) {
	i := skipSpace(data, start+1)
	var raws []json.RawMessage
	if i < len(data) && data[i] == ']' {
		return start, i + 1, raws, nil
	}
	for i < len(data) {
		e := skipValue(data, i)
		if e < 0 {
			return 0, 0, nil, errIndexSyntax
		}
		raws = append(raws, json.RawMessage(data[i:e:e]))
		i = skipSpace(data, e)
		switch {
		case i < len(data) && data[i] == ',':
			i = skipSpace(data, i+1)
		case i < len(data) && data[i] == ']':
			return start, i + 1, raws, nil
		default:
			return 0, 0, nil, errIndexSyntax
		}
	}
	return 0, 0, nil, errIndexSyntax
}

func skipSpace[T []byte | string](data T, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value at data[i], or -1. It only
// follows strings and nesting; the value's own syntax is checked when it
// is decoded.
func skipValue[T []byte | string](data T, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of a scalar
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	if depth == 0 {
		return i
	}
	return -1
}

// errIndexLayout is returned when the index's own encoding has no
// manifests array to put the entries in (a bug, never bad input).
var errIndexLayout = errors.New("encoded index has no manifests array")

// encodeIndex encodes idx as json.MarshalIndent(idx, "", "  ") does,
// copying the raw bytes of every entry equal to one of prev (whose raw
// bytes are prevRaw, parallel). It returns the file, the raw bytes of
// each of idx's entries and a copy of idx for the store to keep: entries
// equal to one of prev share prev's (never changed) value, the others get
// annotations of their own, so keeping the copy does not clone N maps.
func encodeIndex(idx *ocispec.Index, prev []ocispec.Descriptor, prevRaw []json.RawMessage) ([]byte, []json.RawMessage, *ocispec.Index, error) {
	head := *idx
	head.Manifests = []ocispec.Descriptor{}
	hb, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return nil, nil, nil, err
	}
	// Annotation values are strings, so this exact text (with unescaped
	// quotes) is only the manifests field itself.
	marker := []byte(`"manifests": []`)
	at := bytes.Index(hb, marker)
	if at < 0 {
		return nil, nil, nil, errIndexLayout
	}
	known := map[string]int{}
	if len(prev) == len(prevRaw) {
		known = make(map[string]int, len(prev))
		for i, d := range prev {
			known[entryKey(d)] = i
		}
	}
	raws := make([]json.RawMessage, len(idx.Manifests))
	kept := head
	kept.Annotations = cloneMap(idx.Annotations)
	kept.Manifests = make([]ocispec.Descriptor, len(idx.Manifests))
	size := len(hb)
	for i, d := range idx.Manifests {
		if j, ok := known[entryKey(d)]; ok && descEqual(d, prev[j]) {
			raws[i], kept.Manifests[i] = prevRaw[j], prev[j]
		} else if raws[i], err = json.MarshalIndent(d, "    ", "  "); err != nil {
			return nil, nil, nil, err
		} else {
			d.Annotations = cloneMap(d.Annotations)
			kept.Manifests[i] = d
		}
		size += len(raws[i]) + 6
	}
	out := make([]byte, 0, size+8)
	out = append(out, hb[:at+len(marker)-1]...)
	for i, r := range raws {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, "\n    "...)
		out = append(out, r...)
	}
	if len(raws) > 0 {
		out = append(out, "\n  "...)
	}
	out = append(out, hb[at+len(marker)-1:]...)
	return out, raws, &kept, nil
}

func entryKey(d ocispec.Descriptor) string {
	return d.Digest.String() + "\x00" + d.Annotations[ocispec.AnnotationRefName]
}

// descEqual reports whether a and b encode to the same JSON.
func descEqual(a, b ocispec.Descriptor) bool {
	return a.MediaType == b.MediaType && a.Digest == b.Digest && a.Size == b.Size &&
		a.ArtifactType == b.ArtifactType && slices.Equal(a.URLs, b.URLs) &&
		maps.Equal(a.Annotations, b.Annotations) && bytes.Equal(a.Data, b.Data) &&
		(a.Platform == b.Platform || reflect.DeepEqual(a.Platform, b.Platform))
}
