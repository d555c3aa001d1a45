package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Container output is kept in containers/<id>/<id>-json.log in Docker's
// json-file format: one JSON object per line of output,
//
//	{"log":"hello\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}
//
// so that docker's own tools read it, and berth logs can tell stdout from
// stderr and show timestamps.

// maxLogLine is how much of a line without a newline is buffered before it
// is written as a partial entry, as Docker does at 16 KiB.
const maxLogLine = 16 << 10

type logEntry struct {
	Log    string `json:"log"`
	Stream string `json:"stream"`
	Time   string `json:"time"`
}

// jsonLog writes a container's log. Its methods accept a nil receiver (no
// log).
type jsonLog struct {
	mu      sync.Mutex
	f       *os.File
	streams []*logStream
}

func openJSONLog(path string) (*jsonLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	return &jsonLog{f: f}, nil
}

func (l *jsonLog) stream(name string) io.Writer {
	s := &logStream{log: l, name: name}
	l.mu.Lock()
	l.streams = append(l.streams, s)
	l.mu.Unlock()
	return s
}

func (l *jsonLog) write(stream string, line []byte) {
	data, _ := json.Marshal(logEntry{Log: string(line), Stream: stream, Time: time.Now().UTC().Format(time.RFC3339Nano)})
	l.mu.Lock()
	_, _ = l.f.Write(append(data, '\n'))
	l.mu.Unlock()
}

// Close writes what is left of unfinished lines and closes the file.
func (l *jsonLog) Close() {
	if l == nil {
		return
	}
	for _, s := range l.streams {
		s.flush()
	}
	l.f.Close()
}

type logStream struct {
	log  *jsonLog
	name string
	mu   sync.Mutex
	buf  []byte
}

func (s *logStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.log.write(s.name, s.buf[:i+1])
		s.buf = s.buf[i+1:]
	}
	if len(s.buf) >= maxLogLine {
		s.log.write(s.name, s.buf)
		s.buf = nil
	}
	if len(s.buf) == 0 {
		s.buf = nil // let the backing array go
	}
	return len(p), nil
}

func (s *logStream) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) > 0 {
		s.log.write(s.name, s.buf)
		s.buf = nil
	}
}

// LogsOptions are docker logs' flags.
type LogsOptions struct {
	Follow     bool
	Tail       int // the last Tail lines; negative for all
	Timestamps bool
}

// ContainerLogs writes the container's logged output to stdout and stderr,
// each line to the stream it came from. With Follow it keeps writing new
// output until the container stops or ctx ends.
func (e *Engine) ContainerLogs(ctx context.Context, id string, opts LogsOptions, stdout, stderr io.Writer) error {
	c, err := e.container(id)
	if err != nil {
		return err
	}
	f, err := os.Open(e.Store.ContainerLogPath(c.ID))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if c.Host.AutoRemove || c.Purpose != "run" {
				return fmt.Errorf("container %s keeps no log (it is removed when it exits)", c.ShortID())
			}
			return nil // never started: no output yet
		}
		return err
	}
	defer f.Close()
	out := func(e logEntry) {
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		if opts.Timestamps {
			_, _ = io.WriteString(w, e.Time+" ")
		}
		_, _ = io.WriteString(w, e.Log)
	}
	r := bufio.NewReader(f)
	var pending []byte
	readEntries := func(fn func(logEntry)) error {
		for {
			line, err := r.ReadBytes('\n')
			pending = append(pending, line...)
			if err == io.EOF {
				return nil // an incomplete last line waits for more
			}
			if err != nil {
				return err
			}
			var ent logEntry
			if json.Unmarshal(pending, &ent) == nil {
				fn(ent)
			}
			pending = pending[:0]
		}
	}
	if opts.Tail >= 0 {
		var last []logEntry
		if err := readEntries(func(e logEntry) {
			last = append(last, e)
			if len(last) > opts.Tail {
				last = last[1:]
			}
		}); err != nil {
			return err
		}
		for _, ent := range last {
			out(ent)
		}
	} else if err := readEntries(out); err != nil {
		return err
	}
	if !opts.Follow {
		return nil
	}
	for {
		running := e.refresh(c).State.Running()
		if err := readEntries(out); err != nil {
			return err
		}
		if !running {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
		if c, err = e.Store.ReadContainer(c.ID); err != nil {
			return nil // removed
		}
	}
}
