package layer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// dirNames are the names of one directory in byte order, packed: every
// name's bytes in one arena and an offset per name. Readdirnames returns a
// string per name (a 16-byte header and an allocation each, and a slice
// that doubles as it grows): a directory of 100,000 files held about 3 MiB
// while the commit walked it, a tenth of a commit's memory.
type dirNames struct {
	arena []byte
	ends  []uint32 // name i is arena[ends[i-1]:ends[i]]
	order []uint32 // indices into ends, sorted by name
}

func (n *dirNames) len() int { return len(n.order) }

// name returns the i-th name in byte order.
func (n *dirNames) name(i int) string {
	return string(n.bytes(int(n.order[i])))
}

func (n *dirNames) bytes(k int) []byte {
	start := uint32(0)
	if k > 0 {
		start = n.ends[k-1]
	}
	return n.arena[start:n.ends[k]]
}

// errDirent is a directory entry record the kernel should never return.
var errDirent = errors.New("malformed directory entry")

// readDirNames reads the names of the directory dir (without "." and
// ".."), sorted, with one getdents buffer for the whole directory.
func readDirNames(dir string) (*dirNames, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := &dirNames{}
	buf := make([]byte, 32<<10)
	fd := int(f.Fd())
	for {
		got, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "getdents", Path: dir, Err: err}
		}
		if got == 0 {
			break
		}
		if err := n.parse(buf[:got]); err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
	}
	if len(n.arena) > int(^uint32(0)) {
		return nil, fmt.Errorf("read %s: %w", dir, errDirent)
	}
	n.order = make([]uint32, len(n.ends))
	for i := range n.order {
		n.order[i] = uint32(i)
	}
	slices.SortFunc(n.order, func(a, b uint32) int { return bytes.Compare(n.bytes(int(a)), n.bytes(int(b))) })
	return n, nil
}

// parse appends the names of a getdents64 buffer: records of an 8-byte
// inode, an 8-byte offset, a 2-byte record length, a type byte and the
// NUL-terminated name.
func (n *dirNames) parse(buf []byte) error {
	const nameOff = 19
	for len(buf) > 0 {
		if len(buf) < nameOff {
			return errDirent
		}
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < nameOff || reclen > len(buf) {
			return errDirent
		}
		name := buf[nameOff:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		buf = buf[reclen:]
		if len(name) == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		n.arena = append(n.arena, name...)
		n.ends = append(n.ends, uint32(len(n.arena)))
	}
	return nil
}
