package store

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// An uncached build finds its base by name, asks whether its new image
// is listed and lists it: three uses of index.json, the one file that
// lists every image of the store. Decoding every entry for them (a map of
// annotations each) made the build's cost grow with the store. The raw
// view reads the file as text and keeps, for each entry, only its bounds
// and the three values those uses compare (digest, name, image ID), found
// by one scan that jumps from quote to quote; only the entries a lookup
// returns are decoded. An image is listed by copying the file's text and
// inserting the new entry's at its sorted place, when the file is laid
// out as Berth writes it (MarshalIndent, sorted): the result is byte for
// byte what writeIndex would write (TestRawAppendMatchesWriteIndex). Any
// other file, one with an escape (a backslash) anywhere, or one whose
// entries the scan cannot summarise, goes the parsed way, which decodes
// and validates every entry as before.

// entrySum is what the raw view knows of one entry.
type entrySum struct {
	start, end      int    // the entry's text
	digest, ref, id string // its digest, ref name and image ID annotations ("" when absent)
}

// rawView is one version of index.json as text.
type rawView struct {
	key        indexKey
	text       string
	start, end int // the manifests array: text[start] is '[', text[end-1] is ']'
	sums       []entrySum
	// canonical: the file is what writeIndex writes (layout and order),
	// so an entry can be inserted without rewriting the others.
	canonical bool
	digests   map[string]struct{} // the entries' digests, made after hasMapAfter uses
	hasCalls  int
}

// The annotation keys the scan reads.
const (
	refKey = ocispec.AnnotationRefName
	idKey  = AnnotationID
)

// scanIndex makes the raw view of text, or reports false when the
// parsed way must decide (no manifests array, an escape, a malformed or
// unusual entry).
func scanIndex(text string) (*rawView, bool) {
	v := &rawView{text: text, start: manifestsArray(text)}
	if v.start < 0 || strings.IndexByte(text, '\\') >= 0 {
		return nil, false
	}
	i := skipSpace(text, v.start+1)
	if i < len(text) && text[i] == ']' {
		v.end = i + 1
		return v, true // nothing to look up; an append takes the parsed way
	}
	for i < len(text) {
		sum, ok := scanLaidOut(text, i)
		if !ok {
			sum, ok = scanEntry(text, i)
		}
		if !ok {
			return nil, false
		}
		if v.sums == nil {
			v.sums = make([]entrySum, 0, estimateEntries(text, v.start, sum))
		}
		v.sums = append(v.sums, sum)
		i = skipSpace(text, sum.end)
		switch {
		case i < len(text) && text[i] == ',':
			i = skipSpace(text, i+1)
		case i < len(text) && text[i] == ']':
			v.end = i + 1
			v.canonical = v.isCanonical()
			return v, true
		default:
			return nil, false
		}
	}
	return nil, false
}

// An entry as writeIndex lays it out (MarshalIndent, prefix "    ") with
// the fields PutImage gives it, in the order encoding/json writes them.
const (
	laidMediaType   = "{\n      \"mediaType\": \""
	laidDigest      = "\",\n      \"digest\": \""
	laidSize        = "\",\n      \"size\": "
	laidNoAnn       = "\n    }"
	laidAnnotations = ",\n      \"annotations\": {\n        \""
	laidAnnValue    = "\": \""
	laidAnnNext     = "\",\n        \""
	laidAnnEnd      = "\"\n      }\n    }"
)

// scanLaidOut summarises the object at text[i] when it is laid out
// exactly as writeIndex writes an entry of mediaType, digest, size and
// annotations, jumping from literal to literal: scanEntry's byte-by-byte
// walk cost 0.6 µs per entry, on every build (BenchmarkScanIndex). It
// reports false for anything else (another field, other spacing, a
// repeated or an empty summarised value), and scanEntry decides; where it
// answers, it answers as scanEntry does (TestScanLaidOutAgrees).
func scanLaidOut(text string, i int) (entrySum, bool) {
	sum := entrySum{start: i}
	var ok bool
	if i, ok = skipLit(text, i, laidMediaType); !ok {
		return sum, false
	}
	if i, ok = skipString(text, i, laidDigest); !ok {
		return sum, false
	}
	e := strings.IndexByte(text[i:], '"')
	if e <= 0 {
		return sum, false
	}
	sum.digest = text[i : i+e]
	if i, ok = skipLit(text, i+e, laidSize); !ok {
		return sum, false
	}
	if i, ok = skipInt(text, i); !ok {
		return sum, false
	}
	if j, ok := skipLit(text, i, laidNoAnn); ok {
		sum.end = j
		return sum, true
	}
	if i, ok = skipLit(text, i, laidAnnotations); !ok {
		return sum, false
	}
	return sum.laidAnnotations(text, i)
}

// laidAnnotations goes on with scanLaidOut at the first annotation key.
func (sum entrySum) laidAnnotations(text string, i int) (entrySum, bool) {
	seen := uint8(0)
	for {
		k := strings.IndexByte(text[i:], '"')
		if k < 0 {
			return sum, false
		}
		key := text[i : i+k]
		j, ok := skipLit(text, i+k, laidAnnValue)
		if !ok {
			return sum, false
		}
		v := strings.IndexByte(text[j:], '"')
		if v < 0 {
			return sum, false
		}
		var bit uint8
		switch key {
		case refKey:
			bit, sum.ref = 1, text[j:j+v]
		case idKey:
			bit, sum.id = 2, text[j:j+v]
		}
		if seen&bit != 0 {
			return sum, false // a repeated key: scanEntry decodes the entry
		}
		seen |= bit
		if i, ok = skipLit(text, j+v, laidAnnNext); ok {
			continue
		}
		if i, ok = skipLit(text, j+v, laidAnnEnd); ok {
			sum.end = i
			return sum, true
		}
		return sum, false
	}
}

// skipLit returns the index after lit when text[i:] starts with it.
func skipLit(text string, i int, lit string) (int, bool) {
	if !strings.HasPrefix(text[i:], lit) {
		return i, false
	}
	return i + len(lit), true
}

// skipString skips the rest of a string (strings hold no backslash) and
// then lit.
func skipString(text string, i int, lit string) (int, bool) {
	e := strings.IndexByte(text[i:], '"')
	if e < 0 {
		return i, false
	}
	return skipLit(text, i+e, lit)
}

// skipInt skips an integer: an optional minus and at least one digit.
func skipInt(text string, i int) (int, bool) {
	if i < len(text) && text[i] == '-' {
		i++
	}
	j := i
	for j < len(text) && text[j] >= '0' && text[j] <= '9' {
		j++
	}
	return j, j > i
}

// scanEntry summarises the object at text[i]. Strings hold no backslash
// (scanIndex checked), so each ends at the next quote. Anything the
// summary could get wrong (a repeated or differently cased field, a value
// of our fields that is not a string) makes the entry decoded instead.
func scanEntry(text string, i int) (entrySum, bool) {
	sum := entrySum{start: i}
	if i >= len(text) || text[i] != '{' {
		return sum, false
	}
	depth, inAnn, odd := 0, false, false
	var key string
	var seen uint8
	set := func(bit uint8, dst *string, v string) {
		if seen&bit != 0 {
			odd = true
		}
		seen |= bit
		*dst = v
	}
	for i < len(text) {
		switch c := text[i]; c {
		case '"':
			e := strings.IndexByte(text[i+1:], '"')
			if e < 0 {
				return sum, false
			}
			str := text[i+1 : i+1+e]
			i = skipSpace(text, i+2+e)
			if i < len(text) && text[i] == ':' {
				key = str
				if depth == 1 && key != "digest" && key != "annotations" &&
					(strings.EqualFold(key, "digest") || strings.EqualFold(key, "annotations")) {
					odd = true // encoding/json matches field names without case
				}
				i++
				continue
			}
			switch {
			case depth == 1 && key == "digest":
				set(1, &sum.digest, str)
			case depth == 2 && inAnn && key == refKey:
				set(2, &sum.ref, str)
			case depth == 2 && inAnn && key == idKey:
				set(4, &sum.id, str)
			}
			key = ""
			continue
		case '{', '[':
			if depth == 1 && key == "annotations" && c == '{' {
				inAnn = true
				set(8, new(string), "")
			} else if isSummarised(depth, inAnn, key) {
				odd = true
			}
			depth++
			key = ""
		case '}', ']':
			depth--
			inAnn = inAnn && depth == 2
			if depth == 0 {
				sum.end = i + 1
				if odd || sum.digest == "" {
					return sum.decoded(text)
				}
				return sum, true
			}
		case ' ', '\t', '\n', '\r', ',':
		default: // a number or literal
			if isSummarised(depth, inAnn, key) {
				odd = true
			}
			key = ""
		}
		i++
	}
	return sum, false
}

// estimateEntries guesses how many entries the manifests array at
// text[start] holds from the size of its first one (Berth's entries are
// all about the same size), so the summaries are allocated once rather
// than grown by copying: garbage of the size of the summaries again.
func estimateEntries(text string, start int, first entrySum) int {
	return (len(text)-start)/(first.end-first.start+6) + 16
}

// isSummarised reports whether key at depth is one of the summary's.
func isSummarised(depth int, inAnn bool, key string) bool {
	return (depth == 1 && (key == "digest" || key == "annotations")) ||
		(depth == 2 && inAnn && (key == refKey || key == idKey))
}

// decoded summarises the entry by decoding it, as the parsed way does.
func (sum entrySum) decoded(text string) (entrySum, bool) {
	var d ocispec.Descriptor
	if decodeEntry([]byte(text[sum.start:sum.end]), &d) != nil {
		return sum, false
	}
	sum.digest, sum.ref, sum.id = d.Digest.String(), d.Annotations[refKey], d.Annotations[idKey]
	return sum, true
}

// isCanonical reports whether the file is laid out and sorted as
// writeIndex writes it.
func (v *rawView) isCanonical() bool {
	if v.text[v.start+1:v.sums[0].start] != "\n    " || v.text[v.sums[len(v.sums)-1].end:v.end] != "\n  ]" {
		return false
	}
	for i := 1; i < len(v.sums); i++ {
		a, b := v.sums[i-1], v.sums[i]
		if v.text[a.end:b.start] != ",\n    " || a.ref > b.ref || (a.ref == b.ref && a.digest > b.digest) {
			return false
		}
	}
	head := newIndex()
	if json.Unmarshal([]byte(v.text[:v.start]+"[]"+v.text[v.end:]), head) != nil {
		return false
	}
	want, err := json.MarshalIndent(head, "", "  ")
	return err == nil && string(want) == v.text[:v.start]+"[]"+v.text[v.end:]
}

// entry decodes entry i.
func (v *rawView) entry(i int) (ocispec.Descriptor, error) {
	var d ocispec.Descriptor
	err := decodeEntry([]byte(v.text[v.sums[i].start:v.sums[i].end]), &d)
	return d, err
}

// has reports whether a manifest with digest d is listed. The first few
// questions compare the summaries one by one; a map of every digest is
// made only for a caller that asks many (a pull of many images): a build
// asks once or twice, and hashing thousands of digests for that cost more
// than the comparisons.
func (v *rawView) has(d string) bool {
	if v.digests == nil && v.hasCalls < hasMapAfter {
		v.hasCalls++
		for _, e := range v.sums {
			if sameText(e.digest, d) {
				return true
			}
		}
		return false
	}
	if v.digests == nil {
		v.digests = make(map[string]struct{}, len(v.sums))
		for _, e := range v.sums {
			v.digests[e.digest] = struct{}{}
		}
	}
	_, ok := v.digests[d]
	return ok
}

// hasMapAfter is how many has calls compare one by one before the map.
const hasMapAfter = 4

// insert returns the file with entries added, as writeIndex would write
// it, in parts (runs of the old text and the new entries' text, which are
// written one after the other rather than copied into one buffer), or
// false when the file is not canonical.
func (v *rawView) insert(entries []ocispec.Descriptor) ([]string, bool, error) {
	return v.edit(nil, entries)
}

// edit is insert that also leaves out the listed entries whose index
// drop holds: a tag renames an entry by dropping it and adding it back
// changed. It reports false when nothing would be left.
func (v *rawView) edit(drop map[int]bool, entries []ocispec.Descriptor) ([]string, bool, error) {
	if !v.canonical || len(v.sums) == 0 {
		return nil, false, nil
	}
	const sep = ",\n    "
	news := make([]entrySum, len(entries))
	raws := make([]string, len(entries))
	for i, d := range entries {
		raw, err := json.MarshalIndent(d, "    ", "  ")
		if err != nil {
			return nil, false, err
		}
		raws[i], news[i] = string(raw), entrySum{digest: d.Digest.String(), ref: d.Annotations[refKey]}
	}
	var items []string // in order: runs of kept entries' text, new entries' text
	next := 0          // the first listed entry not yet copied or dropped
	keep := func(upto int) {
		for next < upto {
			if drop[next] {
				next++
				continue
			}
			from := next
			for next < upto && !drop[next] {
				next++
			}
			items = append(items, v.text[v.sums[from].start:v.sums[next-1].end])
		}
	}
	for _, n := range sortedOrder(news) {
		at := next
		for at < len(v.sums) && !sumLess(news[n], v.sums[at]) {
			at++
		}
		keep(at)
		items = append(items, raws[n])
	}
	keep(len(v.sums))
	if len(items) == 0 {
		return nil, false, nil
	}
	parts := make([]string, 0, 2*len(items)+1)
	parts = append(parts, v.text[:v.sums[0].start])
	for i, item := range items {
		if i > 0 {
			parts = append(parts, sep)
		}
		parts = append(parts, item)
	}
	return append(parts, v.text[v.sums[len(v.sums)-1].end:]), true, nil
}

// sumLess is writeIndex's order: by name, then digest.
func sumLess(a, b entrySum) bool {
	return a.ref < b.ref || (a.ref == b.ref && a.digest < b.digest)
}

// sortedOrder returns the indexes of sums in writeIndex's (stable) order.
func sortedOrder(sums []entrySum) []int {
	order := make([]int, len(sums))
	for i := range order {
		order[i] = i
	}
	for i := 1; i < len(order); i++ { // insertion sort: a batch lists few at once
		for j := i; j > 0 && sumLess(sums[order[j]], sums[order[j-1]]); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	return order
}

// rawIndex returns the raw view of index.json as it is now, or nil when
// the parsed way applies: the parsed index is current (it costs nothing
// more), or the file cannot be read as a raw view.
func (s *Store) rawIndex() *rawView {
	st, err := os.Stat(s.indexPath())
	if err != nil {
		return nil
	}
	key := indexKeyOf(st)
	s.indexMu.Lock()
	parsed := s.indexCache != nil && s.indexKey == key
	v := s.raw
	s.indexMu.Unlock()
	if parsed {
		return nil
	}
	if v != nil && v.key == key {
		return v
	}
	text, err := readText(s.indexPath(), st.Size())
	if err != nil || int64(len(text)) != st.Size() {
		return nil
	}
	v, ok := scanIndex(text)
	if !ok {
		return nil
	}
	v.key = key
	s.indexMu.Lock()
	s.raw = v
	s.indexMu.Unlock()
	return v
}

// readText reads the file at path, of about size bytes, as a string. The
// bytes are read straight into the string's memory (one buffer of size+1,
// so a file that grew shows as longer than size): a build reads an index
// of megabytes, and a copy through io.Copy's 32 KiB buffer into a
// strings.Builder cost as much again as the read (0.5 µs per entry of
// index.json in a new process; BenchmarkIndexReadScan).
func readText(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, size+1)
	n, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	if n == 0 {
		return "", err
	}
	// buf is never written again: the string owns it.
	return unsafe.String(&buf[0], n), err
}

// rawCandidates returns, decoded and in index order, the entries
// imageWhere needs to answer for the first entry whose field is value:
// that entry and every entry that may be the same image (the same
// manifest, the same image ID, or no ID annotation). ok is false when
// the raw view does not apply.
func (s *Store) rawCandidates(field func(entrySum) string, value string) (*ocispec.Index, bool, error) {
	if s.pendingCount() > 0 {
		return nil, false, nil
	}
	v := s.rawIndex()
	if v == nil {
		return nil, false, nil
	}
	idx := newIndex()
	first := -1
	for i, e := range v.sums {
		if sameText(field(e), value) {
			first = i
			break
		}
	}
	if first < 0 {
		return idx, true, nil
	}
	d, err := v.entry(first)
	if err != nil {
		return nil, false, nil
	}
	img, err := s.loadImage(d)
	if err != nil {
		return nil, true, err
	}
	id, dgst := img.ID.String(), v.sums[first].digest
	for i, e := range v.sums {
		if i == first || sameText(e.digest, dgst) || e.id == "" || sameText(e.id, id) {
			d, err := v.entry(i)
			if err != nil {
				return nil, false, nil
			}
			idx.Manifests = append(idx.Manifests, d)
		}
	}
	return idx, true, nil
}

// findImage is imageWhere(index.json, the entry whose field is value),
// reading only the entries that can matter when the raw view applies.
func (s *Store) findImage(field func(entrySum) string, match func(ocispec.Descriptor) bool, value string) (*Image, bool, error) {
	idx, ok, err := s.rawCandidates(field, value)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		if idx, err = s.readIndexForLookup(); err != nil {
			return nil, false, err
		}
	}
	return s.imageWhere(idx, match)
}

// sameText is a == b for the values the raw view compares, digests and
// IDs that all start "sha256:": their last bytes differ in all but one
// pair of 256, and comparing them first spares the call to the runtime's
// comparison of the whole strings, made for every entry of the index.
func sameText(a, b string) bool {
	return len(a) == len(b) && (a == "" || a[len(a)-1] == b[len(b)-1]) && a == b
}

// The fields findImage looks up.
func sumDigest(e entrySum) string { return e.digest }
func sumRef(e entrySum) string    { return e.ref }
func sumID(e entrySum) string     { return e.id }

// listedNow reports whether a manifest with digest d is listed or
// pending, from the raw view when it applies.
func (s *Store) listedNow(d ocispec.Descriptor) (bool, error) {
	if v := s.rawIndex(); v != nil {
		s.indexMu.Lock()
		_, pending := s.listed.pending[d.Digest]
		listed := pending || v.has(d.Digest.String())
		s.indexMu.Unlock()
		return listed, nil
	}
	idx, err := s.readIndexShared()
	if err != nil {
		return false, err
	}
	return s.isListed(idx, d), nil
}

// rawAppend lists entries by inserting their text into index.json, as
// appendIndexLocked would write them. ok is false when the raw view does
// not apply; the caller holds the store lock.
func (s *Store) rawAppend(entries []ocispec.Descriptor) (bool, error) {
	v := s.rawIndex()
	if v == nil {
		return false, nil
	}
	// As appendIndexLocked: the pending entries the file lacks, then entries.
	s.indexMu.Lock()
	var add []ocispec.Descriptor
	for _, d := range s.pending {
		if !v.has(d.Digest.String()) {
			add = append(add, d)
		}
	}
	s.indexMu.Unlock()
	add = append(add, entries...)
	parts, ok, err := v.insert(add)
	if !ok || err != nil {
		return false, err
	}
	if err := s.writeIndexParts(parts); err != nil {
		return false, err
	}
	s.indexMu.Lock()
	s.pending, s.listed.pending = nil, nil
	s.indexMu.Unlock()
	return true, nil
}

// writeIndexParts writes index.json as writeIndex does (what the batch
// stored unsynced first, then the file, atomically and durably), from
// the parts insert returned.
func (s *Store) writeIndexParts(parts []string) error {
	err := s.writeIndexFile(func(f *os.File) error {
		for _, p := range parts {
			if _, err := f.WriteString(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write index.json: %w", err)
	}
	s.indexWrites.Add(1)
	return nil
}
