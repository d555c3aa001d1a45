//go:build !linux

package store

import "os"

// othersActive cannot be told without /proc/locks: it says no, as on Linux
// when /proc is missing.
func (s *Store) othersActive() bool { return false }

// indexKeyOf identifies index.json's version by size and mtime; the inode
// and ctime that Linux adds are not portable.
func indexKeyOf(st os.FileInfo) indexKey {
	return indexKey{size: st.Size(), mtime: st.ModTime().UnixNano()}
}
