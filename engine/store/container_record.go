package store

import (
	"os"
	"path/filepath"

	"github.com/berthkit/berth/internal/crashpoint"
)

// writeDiscardedRecord writes the record of a container that nobody keeps
// past its exit (a build step's, a --rm container's), as WriteFileReplace
// does, through a temporary file, atomic for readers and for a killed
// process, but puts it in place of the previous record by exchanging the
// two names (renameat2 RENAME_EXCHANGE, exchangeFiles) and then unlinks
// the previous one, instead of renaming over it. ext4 starts the writeback
// of a file renamed over another (auto_da_alloc), a block write per record
// on the step's path; exchanged, the record is never written to the disk
// at all when its container is removed within seconds, as these are.
// After a machine crash such a record may be empty, as a new record
// (never renamed over anything) already could: the container is a killed
// build's or run's leftover either way (docs/store.md). Where the exchange
// is refused (no previous record, a file system without it) the new
// record is renamed over as before. PutContainer writes the created
// record, the first, the plain way.
func writeDiscardedRecord(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(filepath.Dir(path), filepath.Base(path), perm, nil, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
	if err != nil {
		return writeError(path, err)
	}
	if exchangeFiles(tmp, path) == nil {
		// tmp is the previous record now. A kill here leaves it as a
		// .tmp-* file in the container's directory, which goes with the
		// directory (or with image validate --repair).
		crashpoint.Hit("container.record-exchanged")
		_ = os.Remove(tmp)
		return nil
	}
	if err := replace(tmp, path); err != nil {
		os.Remove(tmp)
		return writeError(path, err)
	}
	return nil
}
