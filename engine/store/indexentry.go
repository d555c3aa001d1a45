package store

import (
	"encoding/json"
	"strconv"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Decoding index.json is the part of an uncached build that grows with
// the store: encoding/json's reflection cost about 10 µs per entry. Nearly
// every entry has one shape (mediaType, digest, size, a few annotations,
// plain ASCII strings), which decodeEntry reads by hand; anything else (an
// escape, a non-ASCII byte, a platform, an unknown or repeated field, a
// number JSON would not write) goes to json.Unmarshal, so the result is
// always what json.Unmarshal gives (FuzzDecodeEntry checks it).

// decodeEntry decodes one index entry into d.
func decodeEntry(raw []byte, d *ocispec.Descriptor) error {
	// One string for the entry: every value read by hand is a part of it,
	// not an allocation of its own.
	if fastEntry(string(raw), d) {
		return nil
	}
	*d = ocispec.Descriptor{}
	return json.Unmarshal(raw, d)
}

// fastEntry decodes the common shape of an entry, or reports false.
func fastEntry(b string, d *ocispec.Descriptor) bool {
	var seen uint8
	end, ok := plainObject(b, skipSpace(b, 0), func(key string, i int) (int, bool) {
		bit := entryFieldBit(key)
		if bit == 0 || seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		var e int
		var ok bool
		switch key {
		case "mediaType":
			d.MediaType, e, ok = plainString(b, i)
		case "digest":
			var v string
			v, e, ok = plainString(b, i)
			d.Digest = digest.Digest(v)
		case "artifactType":
			d.ArtifactType, e, ok = plainString(b, i)
		case "size":
			d.Size, e, ok = plainInt(b, i)
		default: // annotations
			d.Annotations, e, ok = plainMap(b, i)
		}
		return e, ok
	})
	return ok && skipSpace(b, end) == len(b)
}

// entryFieldBit is the bit of a field fastEntry reads, 0 for any other.
func entryFieldBit(key string) uint8 {
	for i, k := range [...]string{"mediaType", "digest", "size", "annotations", "artifactType"} {
		if key == k {
			return 1 << i
		}
	}
	return 0
}

// plainString reads the string at b[i] if it has no escape, control or
// non-ASCII byte, and returns the index after it.
func plainString(b string, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", 0, false
		}
	}
	return "", 0, false
}

// plainInt reads an integer as JSON writes it (no leading zero, exponent
// or fraction: those go to encoding/json).
func plainInt(b string, i int) (int64, int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	start := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == start || (b[start] == '0' && j > start+1) {
		return 0, 0, false
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(b[i:j], 10, 64)
	return n, j, err == nil
}

// plainMap reads an object of plain strings.
func plainMap(b string, i int) (map[string]string, int, bool) {
	m := make(map[string]string, 5) // what PutImage writes
	end, ok := plainObject(b, i, func(key string, i int) (int, bool) {
		v, e, ok := plainString(b, i)
		m[key] = v
		return e, ok
	})
	if !ok {
		return nil, 0, false
	}
	return m, end, true
}

// plainObject reads the object at b[i], its keys plain strings, calling
// field with each key and the index of its value; field returns the index
// after the value. It returns the index after the object.
func plainObject(b string, i int, field func(key string, i int) (int, bool)) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		key, e, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		if i = skipSpace(b, e); i >= len(b) || b[i] != ':' {
			return 0, false
		}
		if i, ok = field(key, skipSpace(b, i+1)); !ok {
			return 0, false
		}
		i = skipSpace(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}
