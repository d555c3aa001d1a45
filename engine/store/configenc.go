package store

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A build step's config holds the history and the environment of every
// step before it, so a build of N steps writes N configs of up to N
// history entries and N variables: bytes that grow with the square of N,
// which the image format asks for. Encoding them with encoding/json was
// most of that cost (reflection, a re-validated time.Time MarshalJSON per
// history entry, about 1 µs each, and an escaped string per variable), so
// the store keeps the encoded history and environment of the last config
// it wrote and encodes only the entries that follow a common prefix: each
// step encodes its own entry and copies the others' bytes. The rest of the
// config is encoded as before, with one placeholder entry in each list
// whose bytes are then replaced by the lists'. The config's bytes (and so
// its ID) are exactly marshalConfig's (TestEncodeConfigSplices*).

// encodeConfig is marshalConfig, with the history and environment of the
// last config copied rather than encoded again. The caller calls release
// once it no longer reads the bytes: the next config is written into the
// same buffer, so a build does not allocate (and collect) its configs'
// bytes once more.
func (s *Store) encodeConfig(cfg ocispec.Image, ext ExtConfig) (data []byte, release func(), err error) {
	return s.configEnc.encode(cfg, ext)
}

// The placeholders: a NUL no Dockerfile line holds, escaped by json as
// \u0000. Within the encoded config a quote that is not escaped starts or
// ends a string, so only the config's Env, Labels and history fields can
// encode as these markers; encode checks that each occurs once all the same.
const (
	envPlaceholder    = "\x00berth:env"
	histPlaceholder   = "\x00berth:history"
	labelsPlaceholder = "\x00berth:labels"
)

var (
	envMarker    = []byte(`"Env":["\u0000berth:env"]`)
	histMarker   = []byte(`"history":[{"created_by":"\u0000berth:history"}]`)
	labelsMarker = []byte(`"Labels":{"\u0000berth:labels":""}`)
)

// configEncoder keeps the encoded history entries and environment
// variables of the last config.
type configEncoder struct {
	mu     sync.Mutex
	hist   encodedList[ocispec.History, keptHistory]
	env    encodedList[string, string]
	labels encodedMap
	// spare is a buffer for the next config that no caller holds.
	spare []byte
}

// encode returns marshalConfig(cfg, ext), and the function that hands its
// buffer back.
func (h *configEncoder) encode(cfg ocispec.Image, ext ExtConfig) ([]byte, func(), error) {
	orig := cfg
	hist, env, labels := cfg.History, cfg.Config.Env, cfg.Config.Labels
	if len(hist) == 0 && len(env) == 0 && len(labels) == 0 {
		data, err := marshalConfig(cfg, ext)
		return data, func() {}, err
	}
	if len(hist) > 0 {
		cfg.History = []ocispec.History{{CreatedBy: histPlaceholder}}
	}
	if len(env) > 0 {
		cfg.Config.Env = []string{envPlaceholder}
	}
	if len(labels) > 0 {
		cfg.Config.Labels = map[string]string{labelsPlaceholder: ""}
	}
	head, err := marshalConfig(cfg, ext)
	if err != nil {
		return nil, nil, err
	}
	lists := []splicedList{
		{at: markerAt(head, histMarker, len(hist)), marker: histMarker, open: len(`"history":[`)},
		{at: markerAt(head, envMarker, len(env)), marker: envMarker, open: len(`"Env":[`)},
		{at: markerAt(head, labelsMarker, len(labels)), marker: labelsMarker, open: len(`"Labels":{`)},
	}
	for _, l := range lists {
		if l.at == -2 {
			data, err := marshalConfig(orig, ext)
			return data, func() {}, err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.hist.update(hist, historyEqual, keepHistory); err != nil {
		return nil, nil, err
	}
	if err := h.env.update(env, func(a string, b *string) bool { return a == *b }, func(e string) string { return e }); err != nil {
		return nil, nil, err
	}
	if err := h.labels.update(labels); err != nil {
		return nil, nil, err
	}
	lists[0].enc, lists[1].enc, lists[2].enc = h.hist.enc, h.env.enc, h.labels.enc
	out := splice(h.takeSpare(), head, lists)
	return out, func() { h.giveBack(out) }, nil
}

// takeSpare is the spare buffer, which no other caller gets until it is
// given back.
func (h *configEncoder) takeSpare() []byte {
	buf := h.spare
	h.spare = nil
	return buf[:0]
}

// giveBack keeps buf, the larger of two, for the next config.
func (h *configEncoder) giveBack(buf []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cap(buf) > cap(h.spare) {
		h.spare = buf[:0]
	}
}

// markerAt is where marker is in head: -1 when the list is empty (no
// marker), -2 when the marker is missing or not alone (encode falls back
// to the plain encoding).
func markerAt(head, marker []byte, n int) int {
	if n == 0 {
		return -1
	}
	i := bytes.Index(head, marker)
	if i < 0 || bytes.Contains(head[i+1:], marker) {
		return -2
	}
	return i
}

// splicedList is one list's place in the encoded head: the marker at at,
// whose first open bytes ("key":[) stay, and the list's encoding, which
// replaces the placeholder between the brackets.
type splicedList struct {
	at, open int
	marker   []byte
	enc      []byte
}

// splice copies head into buf with each list's placeholder replaced by its
// entries.
func splice(buf, head []byte, lists []splicedList) []byte {
	lists = slices.DeleteFunc(lists, func(l splicedList) bool { return l.at < 0 })
	slices.SortFunc(lists, func(a, b splicedList) int { return a.at - b.at })
	size := len(head)
	for _, l := range lists {
		size += len(l.enc)
	}
	out := buf[:0]
	if cap(out) < size {
		// Room for the entries of the next few steps: a build's configs
		// grow by an entry each.
		out = make([]byte, 0, size+size/4)
	}
	from := 0
	for _, l := range lists {
		out = append(out, head[from:l.at+l.open]...)
		out = append(out, l.enc...)
		from = l.at + len(l.marker) - 1 // the closing bracket
	}
	return append(out, head[from:]...)
}

// encodedList is the JSON of the entries of a list, comma separated, as
// json.Marshal writes them inside the list's brackets, and the entries as
// kept (K) to tell whether the next list starts with them.
type encodedList[T, K any] struct {
	items []K
	enc   []byte // their JSON, comma separated
	ends  []int  // where each entry's JSON ends in enc
}

// update makes the kept entries items, encoding those after the prefix
// they share with the kept ones. keep copies what of an entry the caller
// might change in place.
func (l *encodedList[T, K]) update(items []T, equal func(a T, b *K) bool, keep func(T) K) error {
	k := 0
	for k < len(items) && k < len(l.items) && equal(items[k], &l.items[k]) {
		k++
	}
	l.items, l.ends = l.items[:k], l.ends[:k]
	l.enc = l.enc[:0]
	if k > 0 {
		l.enc = l.enc[:l.ends[k-1]]
	}
	for _, e := range items[k:] {
		data, err := json.Marshal(e)
		if err != nil {
			l.items, l.ends, l.enc = nil, nil, nil
			return err
		}
		if len(l.ends) > 0 {
			l.enc = append(l.enc, ',')
		}
		l.enc = append(l.enc, data...)
		l.ends = append(l.ends, len(l.enc))
		l.items = append(l.items, keep(e))
	}
	return nil
}

// keptHistory is a history entry as the encoder keeps it: its time by
// value, beside the rest (the check of every kept entry on every step
// reads one pointer, the caller's, not two).
type keptHistory struct {
	ocispec.History // Created is nil
	created         time.Time
	hasCreated      bool
}

// keepHistory copies an entry's time: the caller may change its value.
func keepHistory(e ocispec.History) keptHistory {
	k := keptHistory{History: e}
	if e.Created != nil {
		k.created, k.hasCreated = *e.Created, true
		k.History.Created = nil
	}
	return k
}

// historyEqual reports whether a and b are the same entry, so encode the
// same. Times compare as values (wall clock, monotonic reading and
// location): equal values encode alike, and two instants that are equal
// only in another location are merely encoded again.
func historyEqual(a ocispec.History, b *keptHistory) bool {
	if a.CreatedBy != b.CreatedBy || a.Author != b.Author || a.Comment != b.Comment || a.EmptyLayer != b.EmptyLayer {
		return false
	}
	if a.Created == nil || !b.hasCreated {
		return a.Created == nil && !b.hasCreated
	}
	return *a.Created == b.created
}
