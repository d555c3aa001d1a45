package store

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// othersActive reports whether another Store handle (another process, or
// another Open in this one) holds the store open, from the flock holders of
// active.lock in /proc/locks. When that cannot be told, it says no.
func (s *Store) othersActive() bool {
	if s.activeLock == nil {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(s.activeLock.Fd()), &st); err != nil {
		return false
	}
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false
	}
	id := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	holders := 0
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		// "1: FLOCK  ADVISORY  READ  1234 08:01:5678 0 EOF"; waiters have "->".
		if len(fields) >= 6 && fields[1] == "FLOCK" && fields[5] == id {
			holders++
		}
	}
	return holders > 1
}

// indexKeyOf identifies index.json's version by inode, size, mtime and
// ctime (a rename or rewrite changes at least one).
func indexKeyOf(st os.FileInfo) indexKey {
	k := indexKey{size: st.Size(), mtime: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		k.ino = int64(sys.Ino)
		k.ctime = sys.Ctim.Nano()
	}
	return k
}

// syncFS flushes the whole file system that holds f (syncfs(2)).
func syncFS(f *os.File) error { return unix.Syncfs(int(f.Fd())) }

// syncFSFlushesFiles says that syncFS makes every file of the file system
// durable, so a file written before it needs no fsync of its own.
const syncFSFlushesFiles = true
