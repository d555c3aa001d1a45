package stackstart

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// grow gives the goroutine that calls it a stack of at least 256 KB in one
// step: the heap's stack memory grows by that much when a fresh goroutine
// (2 KB of stack) calls it, and not when one calls a function of the same
// shape with a small frame.
func TestGrowSizesTheStack(t *testing.T) {
	if got := stackGrowth(func() { grow(false) }); got < 256<<10 {
		t.Fatalf("grow: stack memory grew by %d bytes, want at least 256 KB", got)
	}
	if got := stackGrowth(func() { small(false) }); got >= 256<<10 {
		t.Fatalf("a small frame: stack memory grew by %d bytes, want less than 256 KB", got)
	}
	if grow(true) != 0 {
		t.Fatal("the frame was not zero")
	}
}

//go:noinline
func small(write bool) byte {
	if write {
		var frame [64]byte
		return frame[63]
	}
	return 0
}

// stackGrowth runs fn on a new goroutine and returns how much the heap's
// stack memory grew while it ran, after a collection has freed the cached
// stacks.
func stackGrowth(fn func()) int64 {
	runtime.GC()
	done := make(chan int64)
	go func() {
		before := stackBytes()
		fn()
		done <- stackBytes() - before
	}()
	return <-done
}

func stackBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}
