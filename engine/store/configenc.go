package store

import (
	"encoding/json"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A build step's config holds the history of every step before it, so a
// build of N steps writes N configs of up to N history entries: bytes that
// grow with the square of N, which the image format asks for. Encoding
// them with encoding/json was most of that cost (reflection and a
// re-validated time.Time MarshalJSON per entry, about 1 µs each), so the
// store keeps the encoded history of the last config it wrote and encodes
// only the entries that follow a common prefix: each step encodes its own
// entry and copies the others' bytes. The config's bytes (and so its ID)
// are exactly json.Marshal's (TestEncodeConfigSplicesHistory).

// encodeConfig is marshalConfig, with the history of the last config
// copied rather than encoded again.
func (s *Store) encodeConfig(cfg ocispec.Image, ext ExtConfig) ([]byte, error) {
	if !ext.IsZero() {
		return marshalConfig(cfg, ext)
	}
	return s.configEnc.encode(cfg)
}

// historyEncoder keeps the encoded history entries of the last config.
type historyEncoder struct {
	mu   sync.Mutex
	hist []ocispec.History // the entries, their times copied
	enc  []byte            // their JSON, comma separated
	ends []int             // where each entry's JSON ends in enc
}

// encode returns json.Marshal(cfg).
func (h *historyEncoder) encode(cfg ocispec.Image) ([]byte, error) {
	hist := cfg.History
	cfg.History = nil
	head, err := json.Marshal(cfg)
	// History is the struct's last field and omitted when empty, so the
	// full encoding is head with `,"history":[...]` before its final brace.
	if err != nil || len(hist) == 0 || len(head) == 0 || head[len(head)-1] != '}' {
		if err == nil && len(hist) > 0 {
			cfg.History = hist
			return json.Marshal(cfg)
		}
		return head, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.update(hist); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(head)+len(h.enc)+len(`,"history":[]`))
	out = append(out, head[:len(head)-1]...)
	out = append(out, `,"history":[`...)
	out = append(out, h.enc...)
	return append(out, "]}"...), nil
}

// update makes the kept entries hist, encoding those after the prefix
// they share with the kept ones.
func (h *historyEncoder) update(hist []ocispec.History) error {
	k := 0
	for k < len(hist) && k < len(h.hist) && historyEqual(hist[k], h.hist[k]) {
		k++
	}
	h.hist, h.ends = h.hist[:k], h.ends[:k]
	h.enc = h.enc[:0]
	if k > 0 {
		h.enc = h.enc[:h.ends[k-1]]
	}
	for _, e := range hist[k:] {
		data, err := json.Marshal(e)
		if err != nil {
			h.hist, h.ends, h.enc = nil, nil, nil
			return err
		}
		if len(h.ends) > 0 {
			h.enc = append(h.enc, ',')
		}
		h.enc = append(h.enc, data...)
		h.ends = append(h.ends, len(h.enc))
		if e.Created != nil {
			t := *e.Created
			e.Created = &t // the caller may change its value
		}
		h.hist = append(h.hist, e)
	}
	return nil
}

// historyEqual reports whether a and b are the same entry, so encode the
// same. Times compare as values (wall clock, monotonic reading and
// location): equal values encode alike, and two instants that are equal
// only in another location are merely encoded again.
func historyEqual(a, b ocispec.History) bool {
	if a.CreatedBy != b.CreatedBy || a.Author != b.Author || a.Comment != b.Comment || a.EmptyLayer != b.EmptyLayer {
		return false
	}
	if a.Created == nil || b.Created == nil {
		return a.Created == b.Created
	}
	return *a.Created == *b.Created
}
