package store

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

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
	digests   map[string]struct{} // the entries' digests, made on first use
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
		sum, ok := scanEntry(text, i)
		if !ok {
			return nil, false
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

// has reports whether a manifest with digest d is listed.
func (v *rawView) has(d string) bool {
	if v.digests == nil {
		v.digests = make(map[string]struct{}, len(v.sums))
		for _, e := range v.sums {
			v.digests[e.digest] = struct{}{}
		}
	}
	_, ok := v.digests[d]
	return ok
}

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

// readText reads the file at path, of about size bytes, as a string
// without copying it again (a build reads an index of megabytes).
func readText(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	b.Grow(int(size) + 1)
	_, err = io.Copy(&b, f)
	return b.String(), err
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
		if field(e) == value {
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
	id := img.ID.String()
	for i, e := range v.sums {
		if i == first || e.digest == v.sums[first].digest || e.id == "" || e.id == id {
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
