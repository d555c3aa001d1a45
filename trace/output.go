package trace

import (
	"bytes"
	"sync"
)

// OutputWriter turns a container's output stream into Output events, a line
// at a time, so the console and the trace interleave steps and output the
// same way. A line longer than 64 KiB is sent in pieces. Call Flush after
// the stream ends to send an unterminated last line.
type OutputWriter struct {
	Record    func(Event) // where events go
	Container string
	Stream    string // "stdout" or "stderr"

	mu  sync.Mutex
	buf []byte
}

// Write buffers p and records every complete line.
func (w *OutputWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.send(string(w.buf[:i+1]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64*1024 {
		w.send(string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

// Flush records what is left of an unterminated last line.
func (w *OutputWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.send(string(w.buf))
		w.buf = nil
	}
}

func (w *OutputWriter) send(text string) {
	w.Record(Event{Type: Output, Output: &OutputInfo{Container: w.Container, Stream: w.Stream, Text: text}})
}
