package store

import "golang.org/x/sys/unix"

// mapArena maps n buffers of size bytes in one private anonymous mapping
// and asks for transparent huge pages there (MADV_HUGEPAGE; Linux aligns
// an anonymous mapping of 2 MiB or more to 2 MiB). The mapping is never
// unmapped: it lives as long as the process, so no buffer can outlive it.
// It returns nil when the mapping fails; a failed madvise (THP disabled)
// leaves ordinary pages, which still work.
func mapArena(n, size int) [][]byte {
	mem, err := unix.Mmap(-1, 0, n*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	_ = unix.Madvise(mem, unix.MADV_HUGEPAGE)
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
	}
	return bufs
}
