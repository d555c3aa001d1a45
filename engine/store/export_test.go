package store

// BlobDirSyncs counts the fsyncs of the blob directory so far.
func (s *Store) BlobDirSyncs() int64 { return s.blobDirSync.Load() }
