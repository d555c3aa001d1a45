package engine

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// TestFollowAcrossRotationsRace: a follower that looks at the log while the
// writer rotates it as fast as it can (one entry a file, twenty files, so
// every rotation shifts up to nineteen names, the writer at most ten files
// ahead) reads every line once, in order:
// it never opens a file the shift has half moved, and drains the file it
// holds before leaving it.
func TestFollowAcrossRotationsRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	l, err := openJSONLog(path, map[string]string{"max-size": "60", "max-file": "20"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	lr := &logReader{f: f, r: bufio.NewReader(f)}
	defer func() { lr.f.Close() }()
	const lines = 400
	var done atomic.Bool
	var read atomic.Int64
	go func() {
		w := l.stream("stdout")
		for i := 1; i <= lines; i++ {
			// Never more than ten files ahead of the follower: past
			// nineteen, rotation drops files, as Docker's does.
			for int64(i)-read.Load() > 10 {
				runtime.Gosched()
			}
			fmt.Fprintf(w, "line-%d\n", i)
		}
		l.Close()
		done.Store(true)
	}()
	var got []string
	out := func(e logEntry) {
		got = append(got, strings.TrimSuffix(e.Log, "\n"))
		read.Add(1)
	}
	for {
		finished := done.Load()
		if err := lr.entries(out); err != nil {
			t.Fatal(err)
		}
		rotated, err := lr.reopen(path, out)
		if err != nil {
			t.Fatal(err)
		}
		if !rotated && finished {
			break
		}
	}
	if len(got) != lines {
		t.Fatalf("read %d lines, want %d (first missing or extra near %v)", len(got), lines, firstGap(got))
	}
	for i, s := range got {
		if s != fmt.Sprintf("line-%d", i+1) {
			t.Fatalf("line %d is %q", i+1, s)
		}
	}
}

func firstGap(got []string) string {
	for i, s := range got {
		if s != fmt.Sprintf("line-%d", i+1) {
			return fmt.Sprintf("index %d: %q", i, s)
		}
	}
	return "the end"
}
