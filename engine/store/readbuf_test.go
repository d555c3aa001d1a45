package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// A chunkReader gives back exactly its source's bytes, whatever sizes are
// asked of it and returned by the source, and then the source's error.
func TestChunkReaderPassesTheSourceThrough(t *testing.T) {
	content := make([]byte, 300_001)
	for i := range content {
		content[i] = byte(i * 7)
	}
	sources := map[string]func() io.Reader{
		"whole":      func() io.Reader { return bytes.NewReader(content) },
		"one byte":   func() io.Reader { return iotest.OneByteReader(bytes.NewReader(content)) },
		"half":       func() io.Reader { return iotest.HalfReader(bytes.NewReader(content)) },
		"data + EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(content)) },
	}
	for name, src := range sources {
		for _, size := range []int{1, 4096, 65536, 1 << 20} {
			t.Run(fmt.Sprint(name, "/", size), func(t *testing.T) {
				if err := iotest.TestReader(&chunkReader{r: src(), buf: make([]byte, size)}, content); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	broken := errors.New("connection reset")
	c := &chunkReader{r: io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(broken)), buf: make([]byte, 2)}
	got, err := io.ReadAll(c)
	if string(got) != "abc" || !errors.Is(err, broken) {
		t.Fatalf("read %q, %v; want \"abc\" and %v", got, err, broken)
	}
	if n, err := c.Read(make([]byte, 8)); n != 0 || !errors.Is(err, broken) {
		t.Fatalf("read after the error: %d, %v; want 0, %v", n, err, broken)
	}
}

// The arena's buffers are handed to one holder at a time and never overlap;
// past the arena, buffers come from the heap and are not kept.
func TestReadBuffersAreNotShared(t *testing.T) {
	var r readBuffers
	var held []*readBuffer
	for range arenaBuffers + 3 {
		b := r.get()
		if len(b.b) != readSize {
			t.Fatalf("buffer of %d bytes, want %d", len(b.b), readSize)
		}
		held = append(held, b)
	}
	for i, b := range held {
		b.b[0], b.b[readSize-1] = byte(i), byte(i)
	}
	for i, b := range held {
		if b.b[0] != byte(i) || b.b[readSize-1] != byte(i) {
			t.Fatalf("buffer %d was overwritten: its bytes are shared", i)
		}
		// Writing past a buffer's end must not reach the next one.
		if cap(b.b) != readSize {
			t.Fatalf("buffer %d has capacity %d, want %d", i, cap(b.b), readSize)
		}
	}
	arena := 0
	for _, b := range held {
		if b.arena {
			arena++
		}
		r.put(b)
	}
	if runtime.GOOS == "linux" && arena != arenaBuffers {
		t.Fatalf("%d buffers from the arena, want %d", arena, arenaBuffers)
	}
	if len(r.free) != arena {
		t.Fatalf("%d buffers kept after put, want the arena's %d", len(r.free), arena)
	}
}

// On Linux the arena asks for transparent huge pages, which is what saves
// a pull its ~1,000 page faults: the kernel must see the mapping as
// eligible whenever THP is not disabled.
func TestReadBufferArenaIsHugePageEligible(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("transparent huge pages are Linux's")
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skip("transparent huge pages are disabled here")
	}
	bufs := mapArena(2, readSize)
	if bufs == nil {
		t.Fatal("mapping the arena failed")
	}
	bufs[0][0] = 1
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	addr, err := strconv.ParseUint(strings.TrimPrefix(fmt.Sprintf("%p", &bufs[0][0]), "0x"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	inArena, found := false, false
	for _, line := range strings.Split(string(smaps), "\n") {
		// A mapping's first line: "7f12c0000000-7f12c0400000 rw-p ...".
		if from, to, ok := strings.Cut(strings.Fields(line + " ")[0], "-"); ok {
			start, err1 := strconv.ParseUint(from, 16, 64)
			end, err2 := strconv.ParseUint(to, 16, 64)
			if err1 == nil && err2 == nil {
				inArena = start <= addr && addr < end
				found = found || inArena
			}
		}
		if inArena && strings.HasPrefix(line, "THPeligible:") {
			if got := strings.TrimSpace(strings.TrimPrefix(line, "THPeligible:")); got != "1" {
				t.Fatalf("the arena's mapping has THPeligible %s, want 1", got)
			}
			return
		}
	}
	if found {
		t.Skip("this kernel's smaps has no THPeligible line")
	}
	t.Fatalf("no mapping in /proc/self/smaps holds the arena's address %#x", addr)
}
