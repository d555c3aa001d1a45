//go:build !linux

package store

import (
	"os"
	"runtime"
)

// othersActive cannot be told without /proc/locks, so it says yes: GC then
// leaves blobs that no image names alone for ingestGrace (another process
// may be pulling or loading them) and frees them later, never too early.
func (s *Store) othersActive() bool { return true }

// indexKeyOf identifies index.json's version by size and mtime; the inode
// and ctime that Linux adds are not portable, so they stay 0.
func indexKeyOf(st os.FileInfo) indexKey {
	return indexKey{size: st.Size(), mtime: st.ModTime().UnixNano(), ino: 0, ctime: 0}
}

// syncFS has no syncfs(2) to call off Linux: it syncs f's directory, which
// is as much as these systems offer without walking every file. Windows
// refuses to flush a directory; there the store only serves replays and
// --explain, which build nothing.
// syncFSFlushesFiles is false: syncFS here syncs one directory only.
const syncFSFlushesFiles = false

func syncFS(f *os.File) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	return f.Sync()
}
