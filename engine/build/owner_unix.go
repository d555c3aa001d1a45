//go:build unix

package build

import (
	"io/fs"
	"syscall"
)

// fileOwner is the uid and gid of a file, from its stat.
func fileOwner(info fs.FileInfo) (int, int, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
