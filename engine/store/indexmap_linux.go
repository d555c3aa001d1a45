//go:build linux

package store

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapText maps the file at path read-only and returns its text, the
// version it is (its inode, size and times, from the open file) and the
// func that unmaps it. A build reads index.json whole, and reading it
// into the heap cost more than the reading: a page of new memory for
// every 4 KiB (zeroed by the kernel, then faulted in, then written), and
// a garbage collection once the text pushed the heap past its first
// target. The mapping shares the page cache's pages, populated in one
// call. A file another program truncates in place while it is mapped
// faults when read (SIGBUS): the raw view's holders turn that into the
// parsed way (rawHold). An empty file, or one that cannot be mapped, is
// read (readText).
func mapText(path string) (string, indexKey, func(), error) {
	f, st, err := openStat(path)
	if err != nil {
		return "", indexKey{}, nil, err
	}
	defer f.Close()
	size := st.Size()
	if size <= 0 || size != int64(int(size)) {
		text, err := readFrom(f, size)
		return text, indexKeyOf(st), nil, err
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		text, err := readFrom(f, size)
		return text, indexKeyOf(st), nil, err
	}
	return unsafe.String(&data[0], len(data)), indexKeyOf(st), func() { _ = unix.Munmap(data) }, nil
}
