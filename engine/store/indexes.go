package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Multi-platform image indexes (OCI image indexes and Docker manifest lists)
// that were pushed to `berth registry serve` are kept beside the images, not
// among them: indexes.json, an OCI index of its own, lists each one's blob
// with its name (ocispec.AnnotationRefName). Every verb that reads
// index.json expects an image manifest in each entry, so keeping indexes out
// of it means images, tag, rmi, save and load never meet one; the garbage
// collector keeps an index's blob, its child manifests and their configs and
// layers alive while the index is listed.
const indexesFile = "indexes.json"

func (s *Store) indexesPath() string { return filepath.Join(s.root, indexesFile) }

// Indexes returns the multi-platform indexes the store keeps, one
// descriptor each (media type, digest, size, ref name annotation).
func (s *Store) Indexes() ([]ocispec.Descriptor, error) {
	idx, err := s.readIndexes()
	if err != nil {
		return nil, err
	}
	return idx.Manifests, nil
}

func (s *Store) readIndexes() (*ocispec.Index, error) {
	data, err := os.ReadFile(s.indexesPath())
	if errors.Is(err, os.ErrNotExist) {
		return newIndex(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", indexesFile, err)
	}
	idx := newIndex()
	if err := json.Unmarshal(data, idx); err != nil {
		return nil, fmt.Errorf("%s in %s is corrupt (%v): remove it to forget the pushed multi-platform indexes", indexesFile, s.root, err)
	}
	return idx, nil
}

func (s *Store) writeIndexes(idx *ocispec.Index) error {
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	// What a batch stored unsynced is durable before a file names it.
	if err := s.syncUnsynced(); err != nil {
		return fmt.Errorf("write %s: %w", indexesFile, err)
	}
	if err := WriteFileAtomic(s.indexesPath(), data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", indexesFile, err)
	}
	return nil
}

// PutIndex keeps a multi-platform index whose bytes were made elsewhere (a
// push to `registry serve`), byte for byte, under ref (a full name:tag or
// name@digest; empty keeps it unnamed). Every child must be an image
// manifest already stored with its config and layers; nested indexes are
// refused. A tag moves: an image that had it keeps its other names or is
// listed untagged, as when Tag moves a name.
func (s *Store) PutIndex(data []byte, mediaType, ref string) (ocispec.Descriptor, error) {
	idx, err := DecodeIndex(data)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if mediaType == "" {
		mediaType = idx.MediaType
	}
	if !IsIndexType(mediaType) {
		return ocispec.Descriptor{}, invalidf("media type %q is not an image index", mediaType)
	}
	if ref != "" {
		r, err := ParseRef(ref)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		ref = r.String()
	}
	d, err := s.PutBlobBytes(data)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("store index: %w", err)
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
	unlock, err := s.Lock()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer unlock()
	// Checked under the lock: a garbage collection may have removed blobs
	// that nothing referred to yet.
	if err := s.checkIndexChildren(idx); err != nil {
		return ocispec.Descriptor{}, err
	}
	if !s.HasBlob(d) {
		if _, err := s.PutBlobBytes(data); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("store index: %w", err)
		}
	}
	if ref != "" {
		desc.Annotations = map[string]string{ocispec.AnnotationRefName: ref}
		err := s.updateIndexLocked(func(images *ocispec.Index) error {
			if len(dropRef(images, ref, "")) == 0 {
				return errUnchanged
			}
			return nil
		})
		if err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	list, err := s.readIndexes()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	keep := list.Manifests[:0]
	for _, e := range list.Manifests {
		if e.Annotations[ocispec.AnnotationRefName] != ref || (ref == "" && e.Digest != d) {
			keep = append(keep, e)
		}
	}
	list.Manifests = append(keep, desc)
	return desc, s.writeIndexes(list)
}

// checkIndexChildren checks that every child of idx is an image manifest
// stored with its config and layers.
func (s *Store) checkIndexChildren(idx ocispec.Index) error {
	for i, c := range idx.Manifests {
		if !IsImageManifestType(c.MediaType) {
			return invalidf("index entry %d has media type %q: berth keeps indexes of image manifests only (no nested indexes)", i+1, c.MediaType)
		}
		data, err := s.ReadBlob(c.Digest)
		if err != nil {
			return fmt.Errorf("manifest %s of the index is not stored: push it first: %w", c.Digest, ErrNotFound)
		}
		if digest.FromBytes(data) != c.Digest || int64(len(data)) != c.Size {
			return invalidf("index entry %d: manifest %s has %d bytes, the index says %d", i+1, c.Digest, len(data), c.Size)
		}
		m, err := DecodeManifest(data)
		if err != nil {
			return fmt.Errorf("manifest %s of the index: %w", c.Digest, err)
		}
		for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
			if !s.HasBlob(b.Digest) {
				return fmt.Errorf("blob %s of manifest %s is not stored: push it first: %w", b.Digest, c.Digest, ErrNotFound)
			}
		}
	}
	return nil
}

// DropIndexName removes the index listed under ref (a full name or a
// familiar one), as a tag moves to a single-platform image pushed under it
// or `rmi` removes it, and returns the removed entry. Its blobs are left to
// the garbage collector. No such index is not an error: ok is false.
func (s *Store) DropIndexName(ref string) (removed ocispec.Descriptor, ok bool, err error) {
	r, err := ParseRef(ref)
	if err != nil {
		return removed, false, err
	}
	full := r.String()
	unlock, err := s.Lock()
	if err != nil {
		return removed, false, err
	}
	defer unlock()
	list, err := s.readIndexes()
	if err != nil {
		return removed, false, err
	}
	keep := list.Manifests[:0]
	for _, e := range list.Manifests {
		if e.Annotations[ocispec.AnnotationRefName] == full {
			removed, ok = e, true
			continue
		}
		keep = append(keep, e)
	}
	if !ok {
		return removed, false, nil
	}
	list.Manifests = keep
	return removed, true, s.writeIndexes(list)
}

// IndexChild returns the descriptor of manifest d as a child of a stored
// index (with its media type), so a registry can serve it by digest even
// when no image lists it.
func (s *Store) IndexChild(d digest.Digest) (ocispec.Descriptor, bool, error) {
	list, err := s.readIndexes()
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	for _, e := range list.Manifests {
		data, err := s.ReadBlob(e.Digest)
		if err != nil {
			continue
		}
		idx, err := DecodeIndex(data)
		if err != nil {
			continue
		}
		for _, c := range idx.Manifests {
			if c.Digest == d {
				return c, true, nil
			}
		}
	}
	return ocispec.Descriptor{}, false, nil
}

// markIndexesLive adds to live every blob a listed index needs: its own,
// its child manifests, and their configs and layers. A child or blob that
// is missing is skipped (`image validate` reports it).
func (s *Store) markIndexesLive(live map[digest.Digest]bool) error {
	list, err := s.readIndexes()
	if err != nil {
		return err
	}
	for _, e := range list.Manifests {
		live[e.Digest] = true
		data, err := s.ReadBlob(e.Digest)
		if err != nil {
			continue
		}
		idx, err := DecodeIndex(data)
		if err != nil {
			continue
		}
		for _, c := range idx.Manifests {
			live[c.Digest] = true
			md, err := s.ReadBlob(c.Digest)
			if err != nil {
				continue
			}
			var m ocispec.Manifest
			if json.Unmarshal(md, &m) != nil {
				continue
			}
			live[m.Config.Digest] = true
			for _, l := range m.Layers {
				live[l.Digest] = true
			}
		}
	}
	return nil
}

// indexes checks the stored multi-platform indexes: each index blob
// and every child manifest, config and layer blob is present with its
// digest. It is part of `image validate`'s layout check.
func (v *validator) indexes() {
	list, err := v.s.readIndexes()
	if err != nil {
		v.addf("%v", err)
		return
	}
	for i, e := range list.Manifests {
		where := fmt.Sprintf("%s entry %d (%s)", indexesFile, i+1, e.Digest)
		if !IsIndexType(e.MediaType) {
			v.addf("%s: media type %q is not an image index", where, e.MediaType)
		}
		data := v.blob(where, e)
		if data == nil {
			continue
		}
		idx, err := DecodeIndex(data)
		if err != nil {
			v.addf("%s: %v", where, err)
			continue
		}
		for _, c := range idx.Manifests {
			md := v.blob(where+" child manifest", c)
			if md == nil {
				continue
			}
			m, err := DecodeManifest(md)
			if err != nil {
				v.addf("%s: child %s: %v", where, c.Digest, err)
				continue
			}
			for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
				if !v.s.HasBlob(b.Digest) {
					v.addf("%s: blob %s of child %s is missing", where, b.Digest, c.Digest)
				}
			}
		}
	}
}
