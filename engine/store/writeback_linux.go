package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to begin writing n bytes of f from off to
// disk (n == 0: to the end of the file) and returns without waiting
// (sync_file_range(2) with SYNC_FILE_RANGE_WRITE). It makes nothing
// durable: it only moves the disk work of a blob ingested unsynced to
// while the rest is still downloading, so the syncfs before index.json
// finds little left to write. Errors are dropped: the syncfs decides.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
