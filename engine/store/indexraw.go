package store

import (
	"bytes"
	"encoding/json"
	"errors"
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

// rawIndex is index.json with its entries kept undecoded.
type rawIndex struct {
	ocispec.Index
	Manifests []json.RawMessage `json:"manifests"`
}

// decodeIndex parses index.json and returns each entry's raw bytes,
// parallel to the index's Manifests.
func decodeIndex(data []byte) (*ocispec.Index, []json.RawMessage, error) {
	var raw rawIndex
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, err
	}
	idx := raw.Index
	idx.Manifests = make([]ocispec.Descriptor, len(raw.Manifests))
	for i, r := range raw.Manifests {
		if err := json.Unmarshal(r, &idx.Manifests[i]); err != nil {
			return nil, nil, err
		}
	}
	return &idx, raw.Manifests, nil
}

// errIndexLayout is returned when the index's own encoding has no
// manifests array to put the entries in (a bug, never bad input).
var errIndexLayout = errors.New("encoded index has no manifests array")

// encodeIndex encodes idx as json.MarshalIndent(idx, "", "  ") does,
// copying the raw bytes of every entry equal to one of prev (whose raw
// bytes are prevRaw, parallel). It returns the file and the raw bytes of
// each of idx's entries.
func encodeIndex(idx *ocispec.Index, prev []ocispec.Descriptor, prevRaw []json.RawMessage) ([]byte, []json.RawMessage, error) {
	head := *idx
	head.Manifests = []ocispec.Descriptor{}
	hb, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	// Annotation values are strings, so this exact text (with unescaped
	// quotes) is only the manifests field itself.
	marker := []byte(`"manifests": []`)
	at := bytes.Index(hb, marker)
	if at < 0 {
		return nil, nil, errIndexLayout
	}
	known := map[string]int{}
	if len(prev) == len(prevRaw) {
		known = make(map[string]int, len(prev))
		for i, d := range prev {
			known[entryKey(d)] = i
		}
	}
	raws := make([]json.RawMessage, len(idx.Manifests))
	size := len(hb)
	for i, d := range idx.Manifests {
		if j, ok := known[entryKey(d)]; ok && descEqual(d, prev[j]) {
			raws[i] = prevRaw[j]
		} else if raws[i], err = json.MarshalIndent(d, "    ", "  "); err != nil {
			return nil, nil, err
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
	return out, raws, nil
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
