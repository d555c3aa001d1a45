package store

import (
	"encoding/json"
	"slices"
)

// encodedMap is the JSON of a string map's entries, comma separated, as
// json.Marshal writes them inside the map's braces: sorted by key. A build
// of N LABEL lines passes a map that is the last one with one key more;
// encoding it by reflection sorted and encoded every label at every step,
// where update checks the kept ones and encodes the new ones only.
type encodedMap struct {
	keys []string // sorted
	vals []string
	encs [][]byte // each entry's `"key":"value"`
	has  map[string]struct{}
	enc  []byte // encs joined by commas
}

// update makes the kept entries m's. When m holds every kept entry
// unchanged, only its other keys are encoded and put in place; otherwise
// everything is encoded again.
func (e *encodedMap) update(m map[string]string) error {
	keep := len(m) >= len(e.keys)
	for i, k := range e.keys {
		if v, ok := m[k]; keep && (!ok || v != e.vals[i]) {
			keep = false
		}
	}
	if !keep {
		e.keys, e.vals, e.encs, e.has = nil, nil, nil, nil
	}
	if len(m) == len(e.keys) && e.enc != nil && keep {
		return nil
	}
	if e.has == nil {
		e.has = make(map[string]struct{}, len(m))
	}
	var added []string
	for k := range m {
		if _, ok := e.has[k]; !ok {
			added = append(added, k)
		}
	}
	slices.Sort(added)
	for _, k := range added {
		entry, err := encodeMapEntry(k, m[k])
		if err != nil {
			e.keys, e.vals, e.encs, e.has, e.enc = nil, nil, nil, nil, nil
			return err
		}
		i, _ := slices.BinarySearch(e.keys, k)
		e.keys, e.vals, e.encs = slices.Insert(e.keys, i, k), slices.Insert(e.vals, i, m[k]), slices.Insert(e.encs, i, entry)
		e.has[k] = struct{}{}
	}
	e.enc = e.enc[:0]
	for i, entry := range e.encs {
		if i > 0 {
			e.enc = append(e.enc, ',')
		}
		e.enc = append(e.enc, entry...)
	}
	return nil
}

// encodeMapEntry is `"key":"value"` as json.Marshal writes a string map's
// entry (both strings escaped alike, HTML characters included).
func encodeMapEntry(k, v string) ([]byte, error) {
	key, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	val, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(append(key, ':'), val...), nil
}
