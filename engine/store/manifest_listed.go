package store

import (
	"encoding/json"
	"strings"

	"github.com/opencontainers/go-digest"
)

// A listing decodes 10,000 manifests at 10,000 images for two facts each
// (the config's digest, the layers' digests to check), and encoding/json
// was a fifth of `berth images`' CPU. The manifests Berth writes have one
// shape (schemaVersion, mediaType, a config and layers of mediaType,
// digest and size, maybe annotations; plain ASCII strings), which
// decodeListedManifest reads by hand; anything else goes to json.Unmarshal,
// so the result is always what json.Unmarshal gives
// (FuzzDecodeListedManifest checks it).

// decodeListedManifest decodes the fields of listedManifest from data.
// The config digest is a copy: data is the listing's reused buffer.
func decodeListedManifest(data []byte, m *listedManifest) error {
	if fastListedManifest(string(data), m) {
		m.Config.Digest = digest.Digest(strings.Clone(string(m.Config.Digest)))
		return nil
	}
	*m = listedManifest{}
	return json.Unmarshal(data, m)
}

// fastListedManifest decodes the common shape of a manifest, or reports
// false.
func fastListedManifest(b string, m *listedManifest) bool {
	var seen uint8
	end, ok := plainObject(b, skipSpace(b, 0), func(key string, i int) (int, bool) {
		bit := manifestFieldBit(key)
		if bit == 0 || seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		switch key {
		case "schemaVersion":
			_, e, ok := plainInt(b, i)
			return e, ok
		case "mediaType":
			_, e, ok := plainString(b, i)
			return e, ok
		case "annotations":
			_, e, ok := plainMap(b, i)
			return e, ok
		case "config":
			return plainDescriptor(b, i, &m.Config.MediaType, (*string)(&m.Config.Digest), &m.Config.Size)
		default: // layers
			return m.plainLayers(b, i)
		}
	})
	return ok && skipSpace(b, end) == len(b)
}

// manifestFieldBit is the bit of a field fastListedManifest reads, 0 for
// any other.
func manifestFieldBit(key string) uint8 {
	for i, k := range [...]string{"schemaVersion", "mediaType", "config", "layers", "annotations"} {
		if key == k {
			return 1 << i
		}
	}
	return 0
}

// plainLayers reads the layers array at b[i] into m.Layers.
func (m *listedManifest) plainLayers(b string, i int) (int, bool) {
	if i >= len(b) || b[i] != '[' {
		return 0, false
	}
	m.Layers = m.Layers[:0]
	if m.Layers == nil {
		m.Layers = make([]listedLayer, 0, 4)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var mediaType, d string
		var size int64
		e, ok := plainDescriptor(b, i, &mediaType, &d, &size)
		if !ok {
			return 0, false
		}
		m.Layers = append(m.Layers, listedLayer{digest.Digest(d), size})
		i = skipSpace(b, e)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// plainDescriptor reads a descriptor of mediaType, digest and size only
// (each at most once) at b[i].
func plainDescriptor(b string, i int, mediaType, dgst *string, size *int64) (int, bool) {
	var seen uint8
	return plainObject(b, i, func(key string, i int) (int, bool) {
		var bit uint8
		switch key {
		case "mediaType":
			bit = 1
		case "digest":
			bit = 2
		case "size":
			bit = 4
		}
		if bit == 0 || seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		var e int
		var ok bool
		switch bit {
		case 1:
			*mediaType, e, ok = plainString(b, i)
		case 2:
			*dgst, e, ok = plainString(b, i)
		default:
			*size, e, ok = plainInt(b, i)
		}
		return e, ok
	})
}
