package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Annotations Berth keeps on index.json entries.
const (
	// AnnotationParent is the ID of the image this one was built on top of
	// (the previous build step, or the image a committed container ran).
	AnnotationParent = "org.berthkit.image.parent"
	// AnnotationSize is the total uncompressed size of the image's layers.
	AnnotationSize = "org.berthkit.image.size"
	// AnnotationID is the image ID (config digest), so an image can be
	// found by ID without reading every manifest in the store.
	AnnotationID = "org.berthkit.image.id"
	// AnnotationCreated is when the image entered this store (RFC 3339).
	AnnotationCreated = "org.berthkit.image.stored"
	// AnnotationLayerSizes lists the uncompressed size of each layer, base
	// first, comma separated: what `history` shows in its SIZE column.
	AnnotationLayerSizes = "org.berthkit.image.layer-sizes"
)

// Image is an image in the store: its manifest, its config and what the
// index says about it. Image values are snapshots; changing one does not
// change the store.
type Image struct {
	// ID is the digest of the config, as Docker's image ID.
	ID             digest.Digest
	ManifestDigest digest.Digest
	// Manifests are the digests of every manifest the store lists for this
	// image (its config), ManifestDigest first: a pulled image keeps the
	// registry's manifest, a loaded or built one Berth's, and both are the
	// same image, as Docker keys images by ID.
	Manifests    []digest.Digest
	ManifestSize int64
	Manifest     ocispec.Manifest
	Config       ocispec.Image
	// Refs are the full names tagged to this image (docker.io/library/busybox:latest).
	Refs []string
	// Parent is the image this one was built from, if known.
	Parent digest.Digest
	// Size is the uncompressed size of all layers.
	Size int64
	// Ext holds Docker's config fields that OCI lacks (Healthcheck, OnBuild, Shell).
	Ext ExtConfig
	// Annotations are the index entry's annotations (Berth's facts and others).
	Annotations map[string]string
}

// ShortID is the 12 hex characters Docker shows.
func (img *Image) ShortID() string { return img.ID.Encoded()[:12] }

// DiffIDs are the uncompressed layer digests, base first.
func (img *Image) DiffIDs() []digest.Digest { return img.Config.RootFS.DiffIDs }

// ChainIDs returns the chain ID of every layer prefix, base first; the last
// one names the top of the image's layer stack.
func (img *Image) ChainIDs() []digest.Digest {
	ids := append([]digest.Digest(nil), img.Config.RootFS.DiffIDs...)
	identity.ChainIDs(ids)
	return ids
}

// Created returns the image's creation time, zero if unknown.
func (img *Image) Created() time.Time {
	if img.Config.Created == nil {
		return time.Time{}
	}
	return *img.Config.Created
}

func newIndex() *ocispec.Index {
	return &ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{},
	}
}

func (s *Store) indexPath() string { return filepath.Join(s.root, "index.json") }

// readIndex returns index.json as it is now, with the pending entries of
// a batch (see BeginBatch). The parsed index is kept and reused while the
// file is unchanged: every write replaces it by rename, so a change always
// shows in its inode, size or timestamps. Callers get their own copy to
// change.
func (s *Store) readIndex() (*ocispec.Index, error) {
	shared, err := s.readIndexShared()
	if err != nil {
		return nil, err
	}
	idx := cloneIndex(shared)
	s.mergePending(idx)
	return idx, nil
}

// readIndexShared is index.json as parsed, without pending entries; the
// value may be shared with other callers and must not be changed.
func (s *Store) readIndexShared() (*ocispec.Index, error) {
	st, statErr := os.Stat(s.indexPath())
	var key indexKey
	if statErr == nil {
		key = indexKeyOf(st)
		s.indexMu.Lock()
		cached := s.indexCache
		same := cached != nil && s.indexKey == key
		s.indexMu.Unlock()
		if same {
			return cached, nil
		}
	}
	data, err := os.ReadFile(s.indexPath())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return newIndex(), nil
		}
		return nil, fmt.Errorf("read index.json: %w", err)
	}
	s.indexParses.Add(1)
	idx, raws, err := decodeIndex(data)
	if err != nil {
		return nil, fmt.Errorf("index.json in %s is corrupt (%v): restore it from a backup or remove the store", s.root, err)
	}
	if statErr == nil && int64(len(data)) == st.Size() {
		s.indexMu.Lock()
		s.indexKey, s.indexCache, s.indexRaws = key, idx, raws
		s.indexMu.Unlock()
	}
	return idx, nil
}

// readIndexForLookup is the index to find one image in, read-only: the
// shared parsed index when no batch entries are pending, so a lookup does
// not copy every entry of a large index (a cached rebuild of N steps looks
// up N images).
func (s *Store) readIndexForLookup() (*ocispec.Index, error) {
	if s.pendingCount() > 0 {
		return s.readIndex()
	}
	return s.readIndexShared()
}

// indexKey identifies one version of index.json on disk.
type indexKey struct {
	ino, size, mtime, ctime int64
}

func cloneIndex(idx *ocispec.Index) *ocispec.Index {
	out := *idx
	out.Manifests = make([]ocispec.Descriptor, len(idx.Manifests))
	for i, d := range idx.Manifests {
		if d.Annotations != nil {
			d.Annotations = cloneMap(d.Annotations)
		}
		out.Manifests[i] = d
	}
	if idx.Annotations != nil {
		out.Annotations = cloneMap(idx.Annotations)
	}
	return &out
}

func (s *Store) writeIndex(idx *ocispec.Index) error {
	// Keep the file stable for diffs and for readers: sorted by ref then digest.
	sort.SliceStable(idx.Manifests, func(i, j int) bool {
		a, b := idx.Manifests[i], idx.Manifests[j]
		ra, rb := a.Annotations[ocispec.AnnotationRefName], b.Annotations[ocispec.AnnotationRefName]
		if ra != rb {
			return ra < rb
		}
		return a.Digest < b.Digest
	})
	// Only new or changed entries are encoded; the others keep the bytes
	// they were read with (indexraw.go).
	s.indexMu.Lock()
	var prev []ocispec.Descriptor
	if s.indexCache != nil {
		prev = s.indexCache.Manifests
	}
	prevRaw := s.indexRaws
	s.indexMu.Unlock()
	data, raws, kept, err := encodeIndex(idx, prev, prevRaw)
	if err != nil {
		return fmt.Errorf("encode index.json: %w", err)
	}
	err = s.writeIndexFile(func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("write index.json: %w", err)
	}
	s.indexWrites.Add(1)
	s.keepIndex(data, kept, raws)
	return nil
}

// writeIndexFile writes index.json atomically and durably, after the blobs
// a batch stored unsynced (they must be durable before a name points at
// them). With such blobs waiting, the new file is written first and the
// batch's one syncfs flushes it with them, where it flushes every file
// (Linux): no fsync of its own, one disk wait fewer at the end of every
// pull and batch. Otherwise the blobs are synced first and the file is
// fsynced, as WriteFileAtomic does.
func (s *Store) writeIndexFile(write func(*os.File) error) error {
	fsync := func(f *os.File) error {
		s.indexFileSyncs.Add(1)
		return f.Sync()
	}
	sync := fsync
	if syncFSFlushesFiles && s.unsynced.Load() {
		sync = func(f *os.File) error {
			synced, err := s.syncUnsyncedFS()
			if err != nil || synced {
				return err
			}
			// Another writer's syncfs came first, maybe before this file
			// was written.
			return fsync(f)
		}
	} else if err := s.syncUnsynced(); err != nil {
		return err
	}
	return writeFileWith(s.indexPath(), 0o644, sync, write)
}

// keepIndex keeps what was just written to index.json as the parsed index,
// so the next read does not parse the file back. Writers hold the store
// lock (or, at Open, write only a file that was missing), so the file on
// disk is still this one.
func (s *Store) keepIndex(data []byte, kept *ocispec.Index, raws []json.RawMessage) {
	if st, err := os.Stat(s.indexPath()); err == nil && st.Size() == int64(len(data)) {
		s.indexMu.Lock()
		s.indexKey, s.indexCache, s.indexRaws = indexKeyOf(st), kept, raws
		s.indexMu.Unlock()
	}
}

// UpdateIndex runs fn on index.json under the store lock and writes the
// result if fn returns nil. It is for tools that seed a store with many
// entries at once (berthbench); the engine lists and names images only
// through PutImage, ImportManifest, ListImages, Tag, Untag and DeleteImage.
func (s *Store) UpdateIndex(fn func(idx *ocispec.Index) error) error {
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.updateIndexLocked(fn)
}

// errUnchanged lets an index update say it changed nothing, so the file is
// not rewritten (and fsynced) for nothing.
var errUnchanged = errors.New("index unchanged")

func (s *Store) updateIndexLocked(fn func(idx *ocispec.Index) error) error {
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	return s.commitIndexLocked(idx)
}

// updateEntriesLocked is updateIndexLocked for an fn that drops entries
// or gives them new annotation maps (dropRef copies an entry's map before
// changing it) but never changes a map in place: the entries are those of
// the parsed index, not copies. RemoveImages' copy of every entry's
// annotations was a third of what a prune of 10,000 images held at once.
func (s *Store) updateEntriesLocked(fn func(idx *ocispec.Index) error) error {
	shared, err := s.readIndexShared()
	if err != nil {
		return err
	}
	idx := *shared
	idx.Manifests = append(make([]ocispec.Descriptor, 0, len(shared.Manifests)+s.pendingCount()), shared.Manifests...)
	s.mergePending(&idx)
	if err := fn(&idx); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	return s.commitIndexLocked(&idx)
}

// appendIndexLocked lists entries and the batch's pending ones, as
// updateIndexLocked with an appending fn, without cloning the entries
// already listed: nothing here changes them, so the copy shares their
// annotations with the parsed index (a build adds one image to an index of
// thousands).
func (s *Store) appendIndexLocked(entries ...ocispec.Descriptor) error {
	if ok, err := s.rawAppend(entries); ok || err != nil {
		return err
	}
	shared, err := s.readIndexShared()
	if err != nil {
		return err
	}
	idx := *shared
	idx.Manifests = append(make([]ocispec.Descriptor, 0, len(shared.Manifests)+len(entries)+s.pendingCount()), shared.Manifests...)
	s.mergePending(&idx)
	idx.Manifests = append(idx.Manifests, entries...)
	return s.commitIndexLocked(&idx)
}

// commitIndexLocked writes idx, which holds every pending entry.
func (s *Store) commitIndexLocked(idx *ocispec.Index) error {
	if err := s.writeIndex(idx); err != nil {
		return err
	}
	// Pending entries only grow under s.mu, which the caller holds: all of
	// them were in idx and are now on disk.
	s.indexMu.Lock()
	s.pending, s.listed.pending = nil, nil
	s.indexMu.Unlock()
	return nil
}

// ImageOptions are Berth's facts about a new image.
type ImageOptions struct {
	Parent digest.Digest
	// LayerSizes are the uncompressed sizes of the layers, base first; they
	// add up to the image's size.
	LayerSizes []int64
	// Annotations go on the manifest itself.
	Annotations map[string]string
	// Ext adds Docker's config fields that OCI lacks.
	Ext ExtConfig
}

// PutImage stores config and a manifest over already stored layer blobs and
// lists the image in the index (untagged). Storing an image that exists
// returns it unchanged.
func (s *Store) PutImage(config ocispec.Image, layers []ocispec.Descriptor, opts ImageOptions) (*Image, error) {
	if len(layers) != len(config.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image has %d layers but %d diff IDs", len(layers), len(config.RootFS.DiffIDs))
	}
	for _, l := range layers {
		if !s.HasBlob(l.Digest) {
			return nil, fmt.Errorf("layer blob %s: %w", l.Digest, ErrNotFound)
		}
	}
	if config.RootFS.Type == "" {
		config.RootFS.Type = "layers"
	}
	if config.RootFS.DiffIDs == nil {
		config.RootFS.DiffIDs = []digest.Digest{}
	}
	configData, release, err := s.encodeConfig(config, opts.Ext)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	// The config and manifest, like the layer before them (IngestBlob),
	// share one sync of the blob directory, before the index names them.
	configDigest, err := s.putBlobBytes(configData, false)
	configSize := int64(len(configData))
	release()
	if err != nil {
		return nil, fmt.Errorf("store image config: %w", err)
	}
	configDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: configDigest, Size: configSize}
	if layers == nil {
		layers = []ocispec.Descriptor{}
	}
	manifest := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      configDesc,
		Layers:      layers,
		Annotations: opts.Annotations,
	}
	manifestData, err := json.Marshal(manifest)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	manifestDigest, err := s.putBlobBytes(manifestData, false)
	if err != nil {
		return nil, fmt.Errorf("store manifest: %w", err)
	}
	if err := s.syncBlobDir(); err != nil {
		return nil, err
	}
	manifestDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: manifestDigest, Size: int64(len(manifestData))}
	annotations := imageAnnotations(configDesc.Digest, opts.Parent, opts.LayerSizes, len(layers))
	crashpoint.Hit("image.blobs-stored")
	listed, err := s.listedNow(manifestDesc)
	if err != nil {
		return nil, err
	}
	if listed {
		// Stored before: it may have names, which the index knows.
		return s.imageByManifest(manifestDesc.Digest)
	}
	entry := manifestDesc
	entry.Annotations = annotations
	if err := s.listImage(entry, layers); err != nil {
		return nil, err
	}
	// Built from what was just written rather than read back: a build stores
	// an image per step, and parsing each config again (and keeping it) made
	// its time and memory grow with the square of its steps.
	img := &Image{ID: configDesc.Digest, ManifestDigest: manifestDesc.Digest, ManifestSize: manifestDesc.Size,
		Manifest: manifest, Config: config, Ext: opts.Ext, Parent: opts.Parent, Annotations: cloneMap(annotations)}
	img.Size, _ = strconv.ParseInt(annotations[AnnotationSize], 10, 64)
	return img, nil
}

// imageByManifest loads the image whose manifest has digest d.
func (s *Store) imageByManifest(d digest.Digest) (*Image, error) {
	if img, ok, err := s.findImage(sumDigest, func(desc ocispec.Descriptor) bool { return desc.Digest == d }, d.String()); ok || err != nil {
		return img, err
	}
	return nil, fmt.Errorf("manifest %s: %w", d, ErrNotFound)
}

// Images lists every image in the store, one value per manifest, newest
// first. Two manifests of one config are two values here (the registry code
// serves and pushes manifests); the engine's verbs group them by ID.
func (s *Store) Images() ([]*Image, error) {
	return s.imagesWith(s.loadImage)
}

func (s *Store) loadImage(desc ocispec.Descriptor) (*Image, error) {
	// Manifests and configs are content addressed, so what was parsed once
	// holds for the life of the process; only the index entry's facts vary.
	var base *Image
	if cached, ok := s.parsed.Load(desc.Digest); ok {
		base = cached.(*Image)
	} else {
		data, err := s.ReadBlob(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("manifest %s listed in index.json: %w (the store is damaged; `berth image validate` tells more)", desc.Digest, err)
		}
		base = &Image{ManifestDigest: desc.Digest, ManifestSize: int64(len(data))}
		if err := json.Unmarshal(data, &base.Manifest); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
		// Written by hand or by another tool, a layer digest may be
		// anything: refuse it here rather than let a caller that shortens
		// it to 12 characters trip on it.
		for _, l := range base.Manifest.Layers {
			if err := l.Digest.Validate(); err != nil {
				return nil, fmt.Errorf("manifest %s listed in index.json: layer digest %q: %v (the store is damaged; `berth image validate` tells more)", desc.Digest, l.Digest, err)
			}
		}
		cfg, err := s.ReadBlob(base.Manifest.Config.Digest)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", base.Manifest.Config.Digest, err)
		}
		if base.Config, base.Ext, err = unmarshalConfig(cfg); err != nil {
			return nil, fmt.Errorf("config %s: %w", base.Manifest.Config.Digest, err)
		}
		for _, d := range base.Config.RootFS.DiffIDs {
			if err := d.Validate(); err != nil {
				return nil, fmt.Errorf("config %s: diff ID %q: %v (the store is damaged; `berth image validate` tells more)", base.Manifest.Config.Digest, d, err)
			}
		}
		base.ID = base.Manifest.Config.Digest
		// Bounded: a cached rebuild of N steps parses N configs that grow
		// with N; keeping them all made its memory grow with N squared.
		if s.parsedBytes.Add(int64(len(data)+len(cfg))) > maxParsedBytes {
			s.parsed.Clear()
			s.parsedBytes.Store(int64(len(data) + len(cfg)))
		}
		s.parsed.Store(desc.Digest, base)
	}
	img := *base
	img.Refs = nil
	img.Manifests = []digest.Digest{desc.Digest}
	img.Parent = ""
	img.Size = 0
	img.Annotations = cloneMap(desc.Annotations) // desc may be the shared index's
	if p := desc.Annotations[AnnotationParent]; p != "" {
		img.Parent = digest.Digest(p)
	}
	if n, err := strconv.ParseInt(desc.Annotations[AnnotationSize], 10, 64); err == nil {
		img.Size = n
	}
	return &img, nil
}

// Image finds an image by reference ("busybox", "rommelrico/redis:latest",
// "name@sha256:..."), full ID ("sha256:..."), or ID prefix (at least 4 hex
// chars, as Docker). The error for nothing found wraps ErrNotFound and reads
// like Docker's: "No such image: busybox:latest".
func (s *Store) Image(nameOrID string) (*Image, error) {
	// Fast paths that read one image, not the whole store: a full ID when
	// the index entries carry AnnotationID, and a tag.
	{
		hexPart := strings.TrimPrefix(nameOrID, "sha256:")
		if len(hexPart) == 64 && isHex(hexPart) {
			id := "sha256:" + hexPart
			if img, ok, err := s.findImage(sumID, func(d ocispec.Descriptor) bool { return d.Annotations[AnnotationID] == id }, id); ok || err != nil {
				return img, err
			}
		} else if !(isHex(hexPart) && len(hexPart) >= 4) {
			if ref, err := ParseRef(nameOrID); err == nil {
				full := ref.String()
				if img, ok, err := s.findImage(sumRef, func(d ocispec.Descriptor) bool { return d.Annotations[ocispec.AnnotationRefName] == full }, full); ok || err != nil {
					return img, err
				}
				if !strings.Contains(nameOrID, "@") {
					// Names live only in ref.name annotations: a full scan
					// could not find it either.
					return nil, noSuchImage(Familiar(full))
				}
			}
		}
	}
	images, err := s.Images()
	if err != nil {
		return nil, err
	}
	return FindImage(images, nameOrID)
}

// imageWhere loads the image of the first index entry that match accepts,
// with the names of every entry of the same image: the same manifest, or
// another manifest of the same config (Image.Manifests). The matched
// entry's manifest is the image's ManifestDigest.
func (s *Store) imageWhere(idx *ocispec.Index, match func(ocispec.Descriptor) bool) (*Image, bool, error) {
	for _, desc := range idx.Manifests {
		if !match(desc) {
			continue
		}
		img, err := s.loadImage(desc)
		if err != nil {
			return nil, false, err
		}
		for _, other := range idx.Manifests {
			if other.Digest != desc.Digest {
				if id := other.Annotations[AnnotationID]; id != "" && id != img.ID.String() {
					continue // the fast answer, without reading the manifest
				}
				o, err := s.loadImage(other)
				if err != nil || o.ID != img.ID {
					continue
				}
				if !containsDigest(img.Manifests, other.Digest) {
					img.Manifests = append(img.Manifests, other.Digest)
				}
			}
			if ref := other.Annotations[ocispec.AnnotationRefName]; ref != "" {
				img.Refs = append(img.Refs, ref)
			}
		}
		sort.Strings(img.Refs)
		return img, true, nil
	}
	return nil, false, nil
}

func containsDigest(list []digest.Digest, d digest.Digest) bool {
	for _, x := range list {
		if x == d {
			return true
		}
	}
	return false
}

// FindImage resolves nameOrID against a list of images (see Store.Image).
// As Docker, a name is looked up as a reference first and as an ID prefix
// second, so an image tagged "cafe" is found by that name even when "cafe"
// is also the start of some image ID.
func FindImage(images []*Image, nameOrID string) (*Image, error) {
	hexPart := strings.TrimPrefix(nameOrID, "sha256:")
	byID := func() (*Image, error) {
		var found []*Image
		for _, img := range images {
			// Two manifests of one config are one image, not an ambiguity.
			if strings.HasPrefix(img.ID.Encoded(), hexPart) && !slices.ContainsFunc(found, func(f *Image) bool { return f.ID == img.ID }) {
				found = append(found, img)
			}
		}
		switch {
		case len(found) == 1:
			return found[0], nil
		case len(found) > 1:
			return nil, ambiguousError(hexPart)
		}
		return nil, nil
	}
	isID := isHex(hexPart) && len(hexPart) >= 4
	// "sha256:<hex>" and a full 64-hex ID can only be IDs.
	if isID && (strings.HasPrefix(nameOrID, "sha256:") || len(hexPart) == 64) {
		img, err := byID()
		if err != nil || img != nil {
			return img, err
		}
		return nil, noSuchImage(nameOrID)
	}
	ref, err := ParseRef(nameOrID)
	if err != nil {
		return nil, err
	}
	full := ref.String()
	for _, img := range images {
		for _, r := range img.Refs {
			if r == full {
				return img, nil
			}
		}
	}
	// name@sha256:... matches a manifest digest.
	if at := strings.LastIndex(nameOrID, "@"); at >= 0 {
		d := digest.Digest(nameOrID[at+1:])
		for _, img := range images {
			if img.ManifestDigest == d || containsDigest(img.Manifests, d) {
				return img, nil
			}
		}
	}
	if isID {
		img, err := byID()
		if err != nil || img != nil {
			return img, err
		}
	}
	return nil, noSuchImage(Familiar(full))
}

// notFoundError is an error worded exactly as Docker words it ("No such
// image: busybox:latest") that still matches ErrNotFound with errors.Is.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string           { return e.msg }
func (e *notFoundError) Is(target error) bool    { return target == ErrNotFound }
func (e *notFoundError) ErrClass() errdefs.Class { return errdefs.NotFound }

// noSuchImage is Docker's error for an image name or ID not in the store.
func noSuchImage(name string) error { return &notFoundError{msg: "No such image: " + name} }

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// DeleteImage removes every index entry of the image (all its names) and
// then frees what nothing else uses. Callers check for containers and child
// images first; the store only keeps its own files consistent.
func (s *Store) DeleteImage(id digest.Digest) error {
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	err = s.updateIndexLocked(func(idx *ocispec.Index) error {
		keep := idx.Manifests[:0]
		found := false
		for _, d := range idx.Manifests {
			cfg, err := s.entryID(d) // a manifest read only without AnnotationID
			if err == nil && cfg == id {
				found = true
				continue
			}
			keep = append(keep, d)
		}
		if !found {
			return noSuchImage(id.String())
		}
		idx.Manifests = keep
		return nil
	})
	if err != nil {
		return err
	}
	// Unreferenced first, removed second: a crash here leaves only
	// unreferenced files, which the next GC or `image validate --repair`
	// removes.
	crashpoint.Hit("rmi.unreferenced")
	_, err = s.gcLocked()
	return err
}

// ImageRemoval is one image's part in a RemoveImages call, as the caller
// decided it on what it read of the store.
type ImageRemoval struct {
	ID digest.Digest
	// Untag are full names to take from the image.
	Untag []string
	// Delete unlists the image, with its names, which must all be in Untag.
	Delete bool
}

// RemoveImages takes names from images and unlists images (with every
// index entry, as DeleteImage) in one write of index.json, then frees what
// nothing else uses in one garbage collection: removing N images costs one
// rewrite of the index and one walk of the store, not N of each.
//
// The caller decided on facts read without the store lock, so the index
// must still agree with them: every image listed, every name in Untag on
// the image it is taken from, and an image that goes without a name the
// caller did not see (a tag given since). Otherwise nothing changes and the
// error wraps ErrConflict: read again and decide again.
//
// As DeleteImage, unreferenced first, removed second: a crash between the
// two leaves only files no listed image uses, which the next GC or
// `image validate --repair` removes. The batch is all or nothing: unlisted
// says index.json no longer lists the images, even when the collection
// that follows fails (its error is then returned too).
func (s *Store) RemoveImages(batch []ImageRemoval) (unlisted bool, err error) {
	if len(batch) == 0 {
		return false, nil
	}
	byID := make(map[digest.Digest]*ImageRemoval, len(batch))
	owner := map[string]digest.Digest{} // name to take → the image it is taken from
	deletes := false
	for i := range batch {
		r := &batch[i]
		if _, dup := byID[r.ID]; dup {
			return false, fmt.Errorf("image %s is twice in one removal", r.ID)
		}
		byID[r.ID] = r
		for _, name := range r.Untag {
			owner[name] = r.ID
		}
		deletes = deletes || r.Delete
	}
	unlock, err := s.Lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	// Entries are dropped, and names taken by dropRef, which copies an
	// entry's annotations before it changes them.
	err = s.updateEntriesLocked(func(idx *ocispec.Index) error {
		listed := make(map[digest.Digest]bool, len(byID))
		held := make(map[string]bool, len(owner))
		keep := make([]ocispec.Descriptor, 0, len(idx.Manifests))
		for _, d := range idx.Manifests {
			ref := d.Annotations[ocispec.AnnotationRefName]
			id, idErr := s.entryID(d) // a manifest read only without AnnotationID
			if ref != "" {
				if want, ok := owner[ref]; ok {
					if idErr != nil || id != want {
						return staleRemoval(want, "its name "+Familiar(ref)+" is on another image")
					}
					held[ref] = true
				}
			}
			r := byID[id]
			if idErr != nil || r == nil {
				keep = append(keep, d)
				continue
			}
			listed[id] = true
			if !r.Delete {
				keep = append(keep, d) // its names go below, as Untag takes them
				continue
			}
			if ref != "" && !slices.Contains(r.Untag, ref) {
				return staleRemoval(id, "named "+Familiar(ref))
			}
		}
		for _, r := range batch {
			if !listed[r.ID] {
				return staleRemoval(r.ID, "no longer listed")
			}
		}
		for name, id := range owner {
			if !held[name] {
				return staleRemoval(id, "no longer named "+Familiar(name))
			}
		}
		idx.Manifests = keep
		for _, r := range batch {
			if !r.Delete {
				for _, name := range r.Untag {
					dropRef(idx, name, "")
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if !deletes {
		return true, nil
	}
	// Unreferenced first, removed second, as DeleteImage.
	crashpoint.Hit("rmi.unreferenced")
	_, err = s.gcLocked()
	return true, err
}

// staleRemoval is RemoveImages' error when the index changed since the
// caller read it.
func staleRemoval(id digest.Digest, what string) error {
	short := id.Encoded()
	if len(short) > 12 {
		short = short[:12]
	}
	return fmt.Errorf("image %s: %s since its removal was decided: %w", short, what, ErrConflict)
}

// GCResult says what a garbage collection freed.
type GCResult struct {
	Blobs      int
	Layers     int
	BytesFreed int64
	CacheFreed int
}

// GC removes blobs and unpacked layers that no listed image uses, keeping
// layer dirs that a container still mounts. It is run after deletions.
func (s *Store) GC() (GCResult, error) {
	unlock, err := s.Lock()
	if err != nil {
		return GCResult{}, err
	}
	defer unlock()
	return s.gcLocked()
}

func (s *Store) gcLocked() (GCResult, error) {
	g, err := s.findGarbage()
	if err != nil {
		return GCResult{}, err
	}
	return s.removeGarbage(g, false)
}

// LayerSizes returns the uncompressed size of each layer, base first, when
// the index entry records them (AnnotationLayerSizes).
func (img *Image) LayerSizes() ([]int64, bool) {
	sizes, ok := ParseLayerSizes(img.Annotations[AnnotationLayerSizes])
	if !ok || len(sizes) != len(img.Manifest.Layers) {
		return nil, false
	}
	return sizes, true
}

// FormatLayerSizes is the AnnotationLayerSizes value for sizes.
func FormatLayerSizes(sizes []int64) string {
	parts := make([]string, len(sizes))
	for i, n := range sizes {
		parts[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(parts, ",")
}

// ParseLayerSizes reads an AnnotationLayerSizes value.
func ParseLayerSizes(v string) ([]int64, bool) {
	if v == "" {
		return nil, false
	}
	parts := strings.Split(v, ",")
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return nil, false
		}
		sizes[i] = n
	}
	return sizes, true
}
