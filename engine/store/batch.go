package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A build of N steps stores N images. Rewriting index.json (sorted,
// indented, fsynced) for each of them makes the build's cost grow with the
// square of N: a 5,000-line Dockerfile would write gigabytes of index. In a
// batch, PutImage lists new images in memory and index.json is rewritten
// only when the pending entries reach a fraction of the index, so the bytes
// written stay proportional to N.
//
// Pending entries are visible to this process (ReadIndex merges them) but
// not to others until written. Their blobs are on disk before they are
// pending, and GC spares unlisted blobs while another process has the store
// open (ingestGrace), so a crash loses at most the intermediate images of the
// unfinished build: the cache entries that name them read as misses.

// Each step's config holds the whole history so far, so its bytes grow with
// the step number; fsyncing every one of them made a long build wait on the
// disk for the square of its steps. In a batch, configs, manifests and
// layer blobs (IngestBlob) are renamed into place unsynced, the blob and
// layers directories are not fsynced (PutImage, ImportManifest,
// AdoptLayerDir), and one syncfs(2) makes all of it durable before a file
// that names it is written (syncUnsynced, called by writeIndex and
// writeIndexes): index.json never lists a blob a power cut could lose, and
// a build step waits on the disk for nothing.

// batchFlushMin is the fewest pending entries that trigger a rewrite, and
// batchFlushDivisor the fraction of the index they must reach.
const (
	batchFlushMin     = 64
	batchFlushDivisor = 4
)

// BeginBatch starts a batch of image writes; the returned end writes every
// pending entry to index.json and must be called (a deferred call is fine).
// Batches nest: the outermost end writes.
func (s *Store) BeginBatch() (end func() error) {
	s.mu.Lock()
	s.batchDepth++
	s.mu.Unlock()
	done := false
	return func() error {
		if done {
			return nil
		}
		done = true
		s.mu.Lock()
		s.batchDepth--
		last := s.batchDepth == 0
		s.mu.Unlock()
		if !last {
			return nil
		}
		return s.flushIndex()
	}
}

// flushIndex writes the pending entries of a batch to index.json.
func (s *Store) flushIndex() error {
	if s.pendingCount() == 0 {
		return nil
	}
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.appendIndexLocked()
}

func (s *Store) pendingCount() int {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	return len(s.pending)
}

// listImage adds entry to the index: at once, or as a pending entry of a
// batch. The caller has checked that the manifest is not listed yet.
func (s *Store) listImage(entry ocispec.Descriptor, layers []ocispec.Descriptor) error {
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	// Checked again under the lock: a garbage collection may have run
	// since the blobs were written, and nothing referred to them yet.
	for _, l := range layers {
		if !s.HasBlob(l.Digest) {
			return fmt.Errorf("layer blob %s was removed while the image was made: %w", l.Digest, ErrNotFound)
		}
	}
	if s.batchDepth == 0 {
		return s.appendIndexLocked(entry)
	}
	s.indexMu.Lock()
	s.pending = append(s.pending, entry)
	if s.listed.pending == nil {
		s.listed.pending = map[digest.Digest]struct{}{}
	}
	s.listed.pending[entry.Digest] = struct{}{}
	n := len(s.pending)
	listed := 0
	if s.indexCache != nil {
		listed = len(s.indexCache.Manifests)
	}
	if s.raw != nil { // a build that never parsed the index (indexscan.go)
		listed = max(listed, len(s.raw.sums))
	}
	s.indexMu.Unlock()
	if n < batchFlushMin || n < listed/batchFlushDivisor {
		return nil
	}
	return s.appendIndexLocked()
}

// mergePending appends the batch's pending entries that idx lacks.
func (s *Store) mergePending(idx *ocispec.Index) {
	s.indexMu.Lock()
	pending := append([]ocispec.Descriptor(nil), s.pending...)
	s.indexMu.Unlock()
	if len(pending) == 0 {
		return
	}
	listed := make(map[string]bool, len(idx.Manifests))
	for _, d := range idx.Manifests {
		listed[d.Digest.String()] = true
	}
	for _, d := range pending {
		if !listed[d.Digest.String()] {
			d.Annotations = cloneMap(d.Annotations)
			idx.Manifests = append(idx.Manifests, d)
		}
	}
}

// isListed reports whether the manifest is in the index or pending.
func (s *Store) isListed(idx *ocispec.Index, manifest ocispec.Descriptor) bool {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if _, ok := s.listed.pending[manifest.Digest]; ok {
		return true
	}
	if idx != s.indexCache || idx == nil {
		return slices.ContainsFunc(idx.Manifests, func(d ocispec.Descriptor) bool { return d.Digest == manifest.Digest })
	}
	if s.listed.of != idx {
		s.listed.of = idx
		s.listed.index = make(map[digest.Digest]struct{}, len(idx.Manifests))
		for _, d := range idx.Manifests {
			s.listed.index[d.Digest] = struct{}{}
		}
	}
	_, ok := s.listed.index[manifest.Digest]
	return ok
}

// listedDigests are the manifests of the parsed index (of) and of the
// pending entries, as sets: every step of a build asks whether its image
// is listed, and scanning the store's entries and the batch's for it made
// a build's cost grow with the store and with the square of its steps.
type listedDigests struct {
	of      *ocispec.Index
	index   map[digest.Digest]struct{}
	pending map[digest.Digest]struct{}
}

func (s *Store) inBatch() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batchDepth > 0
}

// putBlobUnsynced stores a small blob whose digest d the caller computed,
// leaving its durability to the next syncUnsynced.
func (s *Store) putBlobUnsynced(d digest.Digest, data []byte) error {
	f, err := createTemp(s.TmpDir(), "ingest-")
	if err != nil {
		return fmt.Errorf("create ingest file: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	s.unsynced.Store(true)
	if err == nil {
		err = replace(tmp, s.BlobPath(d))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store blob %s: %w", d, err)
	}
	return nil
}

// syncUnsynced makes the blobs putBlobUnsynced wrote durable: one syncfs of
// the store's file system instead of an fsync per blob.
func (s *Store) syncUnsynced() error {
	_, err := s.syncUnsyncedFS()
	return err
}

// syncUnsyncedFS is syncUnsynced, and says whether this call synced the
// file system (false: nothing was waiting).
func (s *Store) syncUnsyncedFS() (bool, error) {
	if !s.unsynced.Swap(false) {
		return false, nil
	}
	dir, err := os.Open(filepath.Join(s.root, "blobs"))
	if err != nil {
		s.unsynced.Store(true)
		return false, err
	}
	defer dir.Close()
	if err := syncFS(dir); err != nil {
		s.unsynced.Store(true)
		return false, fmt.Errorf("sync store: %w", err)
	}
	s.fsSyncs.Add(1)
	return true, nil
}
