//go:build !linux

package store

// mapArena has no huge pages to ask for here: every buffer comes from the
// heap.
func mapArena(n, size int) [][]byte { return nil }
