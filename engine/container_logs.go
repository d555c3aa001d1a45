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

	"github.com/berthkit/berth/engine/store"
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
// log). With a max-size it rotates as Docker's json-file driver does: the
// full file becomes <log>.1 (older ones shift up to <log>.<max-file - 1>,
// the oldest is dropped) and a new file starts.
type jsonLog struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	size    int64
	maxSize int64
	maxFile int
	streams []*logStream
}

func openJSONLog(path string, opts map[string]string) (*jsonLog, error) {
	maxSize, maxFile, err := logLimits(opts)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	l := &jsonLog{f: f, path: path, maxSize: maxSize, maxFile: maxFile}
	if st, err := f.Stat(); err == nil {
		l.size = st.Size()
	}
	return l, nil
}

// rotate starts a new file; the caller holds mu. The old file is renamed
// or removed, never truncated, so that a follower reading it sees a new
// file appear at the path.
func (l *jsonLog) rotate() {
	unlock := lockLogRotation(l.path, true)
	defer unlock()
	l.f.Close()
	l.f = nil
	if l.maxFile > 1 {
		for i := l.maxFile - 1; i > 1; i-- {
			_ = os.Rename(fmt.Sprintf("%s.%d", l.path, i-1), fmt.Sprintf("%s.%d", l.path, i))
		}
		_ = os.Rename(l.path, l.path+".1")
	} else {
		_ = os.Remove(l.path)
	}
	if f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640); err == nil {
		l.f, l.size = f, 0
	}
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
	data = append(data, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxSize > 0 && l.size > 0 && l.size+int64(len(data)) > l.maxSize {
		l.rotate()
	}
	if l.f != nil {
		n, _ := l.f.Write(data)
		l.size += int64(n)
	}
}

// Close writes what is left of unfinished lines and closes the file.
func (l *jsonLog) Close() {
	if l == nil {
		return
	}
	for _, s := range l.streams {
		s.flush()
	}
	if l.f != nil {
		l.f.Close()
	}
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
// each line to the stream it came from, rotated files first. With Follow it
// keeps writing new output until the container stops or ctx ends.
func (e *Engine) ContainerLogs(ctx context.Context, id string, opts LogsOptions, stdout, stderr io.Writer) error {
	l, err := e.OpenLogs(id, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	return l.Copy(ctx, stdout, stderr)
}

// Logs is a container's log opened for reading: what it holds stays
// readable even when the container is removed meanwhile (docker run --rm,
// or a client that removes the container before reading its logs).
type Logs struct {
	e       *Engine
	c       *store.Container
	path    string
	opts    LogsOptions
	rotated []*os.File // oldest first
	lr      *logReader // nil: the container never started
}

// OpenLogs opens the container's log files; an API server opens them
// before answering, so that the answer's headers mean the output is held.
func (e *Engine) OpenLogs(id string, opts LogsOptions) (*Logs, error) {
	c, err := e.container(id)
	if err != nil {
		return nil, err
	}
	if c.Host.LogConfig.Type == LogDriverNone {
		return nil, ErrLogsNotSupported
	}
	l := &Logs{e: e, c: c, path: e.Store.ContainerLogPath(c.ID), opts: opts}
	unlock := lockLogRotation(l.path, false)
	rotated, f, err := openNewer(l.path, nil)
	unlock()
	l.rotated = rotated
	if err != nil {
		l.Close()
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if c.Purpose != "run" {
			return nil, fmt.Errorf("container %s keeps no log (it is removed when it exits)", c.ShortID())
		}
		return &Logs{e: e, c: c, path: l.path, opts: opts}, nil // never started: no output yet
	}
	l.lr = &logReader{r: bufio.NewReader(f), f: f}
	return l, nil
}

// Close closes the log's files.
func (l *Logs) Close() {
	for _, f := range l.rotated {
		f.Close()
	}
	l.rotated = nil
	if l.lr != nil {
		l.lr.f.Close()
	}
}

// Copy writes the log to stdout and stderr; with Follow, until the
// container has stopped and its log is written to the end, or ctx ends.
func (l *Logs) Copy(ctx context.Context, stdout, stderr io.Writer) error {
	if l.lr == nil {
		return nil
	}
	out := func(e logEntry) {
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		if l.opts.Timestamps {
			_, _ = io.WriteString(w, e.Time+" ")
		}
		_, _ = io.WriteString(w, e.Log)
	}
	all := out
	var last []logEntry
	if l.opts.Tail >= 0 {
		all = func(e logEntry) {
			last = append(last, e)
			if len(last) > l.opts.Tail {
				last = last[1:]
			}
		}
	}
	for _, f := range l.rotated {
		if err := (&logReader{f: f, r: bufio.NewReader(f)}).entries(all); err != nil {
			return err
		}
	}
	if err := l.lr.entries(all); err != nil {
		return err
	}
	for _, ent := range last {
		out(ent)
	}
	if !l.opts.Follow {
		return nil
	}
	return l.e.followLog(ctx, l.c, l.path, l.lr, out)
}

// followLog writes new entries until the container stops or ctx ends,
// moving on to the new file when the log rotates. The container's state
// is read before the file: a stop seen means its log was complete (the
// log closes before the exit is recorded), so the read after it is the
// last one needed.
func (e *Engine) followLog(ctx context.Context, c *store.Container, path string, lr *logReader, out func(logEntry)) error {
	for {
		running := false
		if now, err := e.Store.ReadContainer(c.ID); err == nil {
			running = e.refresh(now).State.Running()
		}
		if err := lr.entries(out); err != nil {
			return err
		}
		rotated, err := lr.reopen(path, out)
		if err != nil {
			return err
		}
		if rotated {
			continue // read the new file at once
		}
		if !running {
			return nil // stopped or removed: the file was read to its end
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logReader reads entries from one log file; an incomplete last line waits
// for more.
type logReader struct {
	f       *os.File
	r       *bufio.Reader
	pending []byte
}

func (lr *logReader) entries(fn func(logEntry)) error {
	for {
		line, err := lr.r.ReadBytes('\n')
		lr.pending = append(lr.pending, line...)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var ent logEntry
		if json.Unmarshal(lr.pending, &ent) == nil {
			fn(ent)
		}
		lr.pending = lr.pending[:0]
	}
}

// reopen switches to the file now at path when it is not the one being
// read (the log rotated), and says whether it did. What the writer added
// to the file being read before it rotated is read first, then the files
// rotated after it (several rotations between two looks), through fn. The
// files are found and opened under the rotation lock, so a rotation under
// way never hides one, and read after it.
func (lr *logReader) reopen(path string, fn func(logEntry)) (bool, error) {
	now, err := os.Stat(path)
	if err != nil {
		return false, nil
	}
	have, err := lr.f.Stat()
	if err != nil || os.SameFile(now, have) {
		return false, nil
	}
	unlock := lockLogRotation(path, false)
	newer, cur, err := openNewer(path, have)
	unlock()
	if err != nil {
		closeAll(newer)
		return false, nil
	}
	err = lr.entries(fn)
	for _, f := range newer {
		if err == nil {
			err = (&logReader{f: f, r: bufio.NewReader(f)}).entries(fn)
		}
		f.Close()
	}
	lr.f.Close()
	lr.f, lr.r, lr.pending = cur, bufio.NewReader(cur), nil
	return true, err
}

// openNewer opens, oldest first, the rotated files that came after the one
// being read (have: ours is now <path>.k, so <path>.k-1 ... <path>.1; when
// it was dropped, or have is nil, every rotated file), and the file at
// path; err is that last open's.
func openNewer(path string, have os.FileInfo) (newer []*os.File, cur *os.File, err error) {
	n := 0
	for i := 1; ; i++ {
		st, err := os.Stat(fmt.Sprintf("%s.%d", path, i))
		if err != nil || (have != nil && os.SameFile(st, have)) {
			break
		}
		n = i
	}
	for i := n; i >= 1; i-- {
		if f, err := os.Open(fmt.Sprintf("%s.%d", path, i)); err == nil {
			newer = append(newer, f)
		}
	}
	cur, err = os.Open(path)
	return newer, cur, err
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
