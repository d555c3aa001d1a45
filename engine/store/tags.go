package store

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A name is an index.json entry's ocispec.AnnotationRefName: an image is
// listed once per name, and once untagged when it has none. Every verb
// that takes a name from an image (tag, untag, pull, load, a push to
// `registry serve`) does it with dropRef below, so an image that loses its
// last name always stays listed as <none> and never twice; tag and load
// give the name with nameManifest, a pull with importEntry, which also
// records where the image came from.

// imageAnnotations are Berth's facts on a new index entry for the image
// with config id and the given number of layers: its ID, when it entered
// the store, its parent, its size (the sum of sizes, known when sizes is
// given or there are no layers) and, when sizes has one per layer, the
// size of each layer. (A commit over a parent whose layer sizes are not
// known passes the parent's total as one size: the sum stays right.)
func imageAnnotations(id, parent digest.Digest, sizes []int64, layers int) map[string]string {
	a := map[string]string{
		AnnotationID:      id.String(),
		AnnotationCreated: time.Now().UTC().Format(time.RFC3339Nano),
	}
	if parent != "" {
		a[AnnotationParent] = parent.String()
	}
	if sizes != nil || layers == 0 {
		var total int64
		for _, n := range sizes {
			total += n
		}
		a[AnnotationSize] = strconv.FormatInt(total, 10)
	}
	if len(sizes) == layers && layers > 0 {
		a[AnnotationLayerSizes] = FormatLayerSizes(sizes)
	}
	return a
}

// dropRef removes the name ref from every entry of idx but those of the
// manifest keep ("" keeps none) and returns the manifests that had it. An
// entry that loses its name stays listed untagged when it is its
// manifest's only entry, so the image survives as <none>.
func dropRef(idx *ocispec.Index, ref string, keep digest.Digest) (held []digest.Digest) {
	entries := map[digest.Digest]int{}
	for _, d := range idx.Manifests {
		entries[d.Digest]++
	}
	out := make([]ocispec.Descriptor, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		if d.Annotations[ocispec.AnnotationRefName] != ref || d.Digest == keep {
			out = append(out, d)
			continue
		}
		held = append(held, d.Digest)
		if entries[d.Digest] > 1 {
			entries[d.Digest]--
			continue // the image keeps another entry
		}
		d.Annotations = cloneMap(d.Annotations)
		delete(d.Annotations, ocispec.AnnotationRefName)
		out = append(out, d)
	}
	idx.Manifests = out
	return held
}

// nameManifest gives the listed manifest the name ref: its untagged entry
// takes it, or a copy of its first entry is added under it. A manifest
// that is not listed is left so.
func nameManifest(idx *ocispec.Index, ref string, manifest digest.Digest) {
	first := -1
	for i, d := range idx.Manifests {
		if d.Digest != manifest {
			continue
		}
		switch d.Annotations[ocispec.AnnotationRefName] {
		case ref:
			return
		case "":
			d.Annotations = cloneMap(d.Annotations)
			d.Annotations[ocispec.AnnotationRefName] = ref
			idx.Manifests[i] = d
			return
		}
		if first < 0 {
			first = i
		}
	}
	if first >= 0 {
		entry := idx.Manifests[first]
		entry.Annotations = cloneMap(entry.Annotations)
		entry.Annotations[ocispec.AnnotationRefName] = ref
		idx.Manifests = append(idx.Manifests, entry)
	}
}

// configDigest is the config a stored manifest names.
func (s *Store) configDigest(manifest digest.Digest) (digest.Digest, error) {
	s.manifestReads.Add(1)
	data, err := s.ReadBlob(manifest)
	if err != nil {
		return "", err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return "", err
	}
	return m.Config.Digest, nil
}

// entryID is the image ID of an index entry: its AnnotationID, which the
// store wrote with the entry, or, for an entry without one (imported from
// an OCI layout made elsewhere, or listed by an older Berth), the config
// its manifest names. The annotation wins when both exist and disagree,
// as everywhere else the index answers (ImageBriefs, Image by ID,
// imageWhere): a tag costs one manifest read per entry without it, not
// one per image in the store.
func (s *Store) entryID(d ocispec.Descriptor) (digest.Digest, error) {
	if id := d.Annotations[AnnotationID]; id != "" {
		return digest.Digest(id), nil
	}
	return s.configDigest(d.Digest)
}

// Tag points the reference at the image, moving it from any image that had
// it. The previous holder of the name is returned (empty if none).
func (s *Store) Tag(id digest.Digest, name string) (previous digest.Digest, err error) {
	ref, err := ParseTag(name)
	if err != nil {
		return "", err
	}
	full := ref.String()
	unlock, err := s.Lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if previous, ok, err := s.rawTag(full, id); ok || err != nil {
		return previous, err
	}
	err = s.updateIndexLocked(func(idx *ocispec.Index) error {
		target, err := s.tagTarget(idx, full, id)
		if err != nil {
			return err
		}
		previous = s.moveRef(idx, full, target, id)
		return nil
	})
	return previous, err
}

// rawTag is Tag on the raw view of index.json (indexscan.go): only the
// entries that change are decoded and written anew, the others keep their
// text, so a tag does not decode and re-encode the whole index. ok is
// false when the parsed way must decide: the raw view does not apply, or
// an entry whose ID matters lacks AnnotationID. The caller holds the
// store lock.
func (s *Store) rawTag(full string, id digest.Digest) (previous digest.Digest, ok bool, err error) {
	v := s.rawIndexToEdit()
	if v == nil {
		return "", false, nil
	}
	drop, add, previous, ok, err := v.planTag(full, id)
	if errors.Is(err, errUnchanged) {
		return "", true, nil
	}
	if !ok || err != nil {
		return "", ok, err
	}
	parts, ok, err := v.edit(drop, add)
	if !ok || err != nil {
		return "", false, err
	}
	return previous, true, s.writeIndexParts(parts)
}

// rawIndexToEdit is the raw view of index.json when a name can be moved
// by editing its text: no batch entries are pending and the file is laid
// out as Berth writes it. The caller holds the store lock.
func (s *Store) rawIndexToEdit() *rawView {
	if s.pendingCount() > 0 {
		return nil
	}
	if v := s.rawIndex(); v != nil && v.canonical {
		return v
	}
	return nil
}

// rawUntag is Untag on the raw view, as rawTag is Tag.
func (s *Store) rawUntag(full string) (id digest.Digest, ok bool, err error) {
	v := s.rawIndexToEdit()
	if v == nil {
		return "", false, nil
	}
	drop := map[int]bool{}
	add, held, ok := v.dropName(full, "", drop)
	if !ok {
		return "", false, nil
	}
	if len(held) == 0 {
		return "", true, noSuchImage(Familiar(full))
	}
	parts, ok, err := v.edit(drop, add)
	if !ok || err != nil {
		return "", false, err
	}
	return held[0], true, s.writeIndexParts(parts)
}

// planTag is what Tag changes in v, as tagTarget and moveRef decide it:
// the entries to drop, the entries to add (changed copies of dropped
// ones, or a new named copy of the image's entry) and the image that had
// the name. errUnchanged says the image has the name already.
func (v *rawView) planTag(full string, id digest.Digest) (drop map[int]bool, add []ocispec.Descriptor, previous digest.Digest, ok bool, err error) {
	target, holders := -1, []int(nil)
	for i, e := range v.sums {
		holds := e.ref == full
		if !holds && target >= 0 {
			continue
		}
		switch {
		case e.id == "":
			return nil, nil, "", false, nil // its ID is in its manifest
		case holds && e.id == id.String():
			return nil, nil, "", false, errUnchanged
		case holds:
			holders = append(holders, i)
		case e.id == id.String():
			target = i
		}
	}
	if target < 0 {
		return nil, nil, "", true, noSuchImage(id.String())
	}
	manifest := v.sums[target].digest
	for _, i := range holders {
		if v.sums[i].digest == manifest {
			return nil, nil, "", false, nil // two IDs for one manifest: the parsed way
		}
	}
	drop = map[int]bool{}
	add, held, ok := v.dropName(full, manifest, drop)
	if !ok {
		return nil, nil, "", false, nil
	}
	if len(held) > 0 {
		previous = held[len(held)-1] // each is another image: see the loop above
	}
	named, err := v.namedEntry(manifest, full, drop)
	if err != nil {
		return nil, nil, "", false, nil
	}
	return drop, append(add, named), previous, true, nil
}

// dropName is dropRef on the raw view: every entry named ref but those
// of the manifest keep goes into drop, and comes back without the name
// (in add) when it was its manifest's only entry. held are the image IDs
// of the entries that had the name, in index order; ok is false when one
// of them lacks AnnotationID or cannot be decoded.
func (v *rawView) dropName(ref, keep string, drop map[int]bool) (add []ocispec.Descriptor, held []digest.Digest, ok bool) {
	entries := map[string]int{}
	for _, e := range v.sums {
		entries[e.digest]++
	}
	for i, e := range v.sums {
		if e.ref != ref || e.digest == keep {
			continue
		}
		if e.id == "" {
			return nil, nil, false
		}
		held, drop[i] = append(held, digest.Digest(e.id)), true
		if entries[e.digest] > 1 {
			entries[e.digest]-- // the image keeps another entry
			continue
		}
		d, err := v.entry(i)
		if err != nil {
			return nil, nil, false
		}
		delete(d.Annotations, ocispec.AnnotationRefName)
		add = append(add, d)
	}
	return add, held, true
}

// namedEntry is nameManifest on the raw view: the manifest's untagged
// entry, which it adds to drop, or a copy of its first entry, with the
// name ref.
func (v *rawView) namedEntry(manifest, ref string, drop map[int]bool) (ocispec.Descriptor, error) {
	first := -1
	for i, e := range v.sums {
		if e.digest != manifest {
			continue
		}
		if e.ref == "" {
			first = i
			drop[i] = true
			break
		}
		if first < 0 {
			first = i
		}
	}
	d, err := v.entry(first)
	if err != nil {
		return d, err
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[ocispec.AnnotationRefName] = ref
	return d, nil
}

// tagTarget is the manifest of image id that Tag names full: the first
// entry of the image, in index order. errUnchanged says full already
// names the image. An entry whose ID cannot be read (a damaged manifest
// without AnnotationID) before the image's first entry is an error, since
// it might have been the image; one that holds the name is only not the
// image, as the name moves from it anyway.
func (s *Store) tagTarget(idx *ocispec.Index, full string, id digest.Digest) (digest.Digest, error) {
	target := digest.Digest("")
	for _, d := range idx.Manifests {
		holds := d.Annotations[ocispec.AnnotationRefName] == full
		if !holds && target != "" {
			continue // found, and this entry cannot make it unchanged
		}
		cfg, err := s.entryID(d)
		switch {
		case holds && err == nil && cfg == id:
			return "", errUnchanged // already tagged
		case holds:
		case err != nil:
			return "", err
		case cfg == id:
			target = d.Digest
		}
	}
	if target == "" {
		return "", noSuchImage(id.String())
	}
	return target, nil
}

// moveRef gives the listed manifest of image id the name ref, taking it
// from any other image, and returns the image that had it (empty if none).
func (s *Store) moveRef(idx *ocispec.Index, ref string, manifest, id digest.Digest) (previous digest.Digest) {
	before := s.idsHolding(idx, ref)
	for _, held := range dropRef(idx, ref, manifest) {
		cfg, err := s.heldID(before, held)
		if err != nil {
			continue // damaged and untagged: not reported, as before
		}
		if cfg != id {
			previous = cfg
		}
	}
	nameManifest(idx, ref, manifest)
	return previous
}

// idsHolding maps the manifests of the entries named ref that carry
// AnnotationID to that ID, read before dropRef takes the name (and, for an
// entry that goes, its annotations) away.
func (s *Store) idsHolding(idx *ocispec.Index, ref string) map[digest.Digest]digest.Digest {
	ids := map[digest.Digest]digest.Digest{}
	for _, d := range idx.Manifests {
		if id := d.Annotations[AnnotationID]; id != "" && d.Annotations[ocispec.AnnotationRefName] == ref {
			ids[d.Digest] = digest.Digest(id)
		}
	}
	return ids
}

// heldID is the image ID of the manifest held, which had a name that
// dropRef took: from before (idsHolding), else read from the manifest.
func (s *Store) heldID(before map[digest.Digest]digest.Digest, held digest.Digest) (digest.Digest, error) {
	if id, ok := before[held]; ok {
		return id, nil
	}
	return s.configDigest(held)
}

// NewImage is an image whose blobs are all stored, for ListImages.
type NewImage struct {
	// Manifest is the manifest's descriptor; an empty media type is OCI's.
	Manifest ocispec.Descriptor
	// ID is the image ID (the config's digest).
	ID digest.Digest
	// LayerSizes are the uncompressed sizes of the layers, one per layer.
	LayerSizes []int64
	// Refs are the full names to move to the image.
	Refs []string
}

// Listed is one name (or one unnamed image) ListImages listed.
type Listed struct {
	ID digest.Digest
	// Ref is the full name, empty for an image listed without one.
	Ref string
	// Replaced is the image that had the name before, if another did.
	Replaced digest.Digest
}

// ListImages lists images whose blobs are stored (an image listed already
// keeps its entry) and moves their names to them, all in one index
// update: a load's images and names appear together or not at all.
func (s *Store) ListImages(images []NewImage) ([]Listed, error) {
	var listed []Listed
	err := s.UpdateIndex(func(idx *ocispec.Index) error {
		listed = listed[:0]
		for _, img := range images {
			i := entryOf(idx, img.Manifest.Digest, anyName)
			if i < 0 {
				entry := img.Manifest
				entry.Annotations = imageAnnotations(img.ID, "", img.LayerSizes, len(img.LayerSizes))
				idx.Manifests = append(idx.Manifests, entry)
				i = len(idx.Manifests) - 1
			}
			if img.Manifest.MediaType == "" || idx.Manifests[i].MediaType == "" {
				idx.Manifests[i].MediaType = ocispec.MediaTypeImageManifest
			}
			if len(img.Refs) == 0 {
				listed = append(listed, Listed{ID: img.ID})
			}
			for _, full := range img.Refs {
				replaced := s.moveRef(idx, full, img.Manifest.Digest, img.ID)
				listed = append(listed, Listed{ID: img.ID, Ref: full, Replaced: replaced})
			}
		}
		return nil
	})
	return listed, err
}

// Untag removes a reference. The image stays listed (untagged) if that was
// its last name; deleting it is DeleteImage's job. It returns the image ID
// the name pointed at.
func (s *Store) Untag(name string) (digest.Digest, error) {
	ref, err := ParseRef(name)
	if err != nil {
		return "", err
	}
	full := ref.String()
	unlock, err := s.Lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if id, ok, err := s.rawUntag(full); ok || err != nil {
		return id, err
	}
	var id digest.Digest
	err = s.updateIndexLocked(func(idx *ocispec.Index) error {
		before := s.idsHolding(idx, full)
		held := dropRef(idx, full, "")
		if len(held) == 0 {
			return noSuchImage(Familiar(full))
		}
		id, err = s.heldID(before, held[0])
		return err
	})
	return id, err
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
