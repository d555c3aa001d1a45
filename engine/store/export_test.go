package store

// BlobDirSyncs counts the fsyncs of the blob directory so far.
func (s *Store) BlobDirSyncs() int64 { return s.blobDirSync.Load() }

// IndexParses counts the reads of index.json that parsed the file.
func (s *Store) IndexParses() int64 { return s.indexParses.Load() }
