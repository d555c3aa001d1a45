package store

import (
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BlobDirSyncs counts the fsyncs of the blob directory so far.
func (s *Store) BlobDirSyncs() int64 { return s.blobDirSync.Load() }

// BlobSyncs counts the fsyncs of ingested blobs' content so far.
func (s *Store) BlobSyncs() int64 { return s.blobSyncs.Load() }

// FSSyncs counts the syncfs calls that made a batch's unsynced files durable.
func (s *Store) FSSyncs() int64 { return s.fsSyncs.Load() }

// IndexFileSyncs counts the fsyncs of a new index.json of its own.
func (s *Store) IndexFileSyncs() int64 { return s.indexFileSyncs.Load() }

// RecordReads counts the container records read so far.
func (s *Store) RecordReads() int64 { return s.recordReads.Load() }

// IndexWrites counts the rewrites of index.json so far.
func (s *Store) IndexWrites() int64 { return s.indexWrites.Load() }

// IndexParses counts the reads of index.json that parsed the file.
func (s *Store) IndexParses() int64 { return s.indexParses.Load() }

// What the tests of package store_test look at and callers do not need.

func (s *Store) ReadIndex() (*ocispec.Index, error)              { return s.readIndex() }
func (s *Store) ImageByManifest(d digest.Digest) (*Image, error) { return s.imageByManifest(d) }
func (s *Store) HasLayerDir(chainID digest.Digest) bool          { return s.hasLayerDir(chainID) }
func (s *Store) Blobs() ([]digest.Digest, error)                 { return s.listBlobs() }

// SharedIndex is the parsed index.json readers share (readIndexShared).
func (s *Store) SharedIndex() (*ocispec.Index, error) { return s.readIndexShared() }
