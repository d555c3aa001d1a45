package daemon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/jsonstream"

	"github.com/berthkit/berth/daemon/api"
)

// jsonStream writes Messages to a response, flushing each. The response
// starts (200, application/json) with the first message, so an error before
// any output is still an HTTP error.
type jsonStream struct {
	mu  sync.Mutex
	w   *responseWriter
	err error
}

func newJSONStream(w *responseWriter) *jsonStream { return &jsonStream{w: w} }

func (s *jsonStream) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.wrote
}

func (s *jsonStream) send(m api.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if !s.w.wrote {
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := s.w.Write(append(data, '\n')); err != nil {
		s.err = err
		return err
	}
	s.w.Flush()
	return nil
}

// sendError ends the stream with an error message.
func (s *jsonStream) sendError(err error, code, step int) error {
	return s.send(api.Message{
		Error:        &jsonstream.Error{Code: code, Message: err.Error()},
		ErrorMessage: err.Error(),
		BerthStep:    step,
	})
}

// streamWriter sends what is written as {"stream": ...} messages; with
// stderr, wrapped in StderrStart and StderrEnd.
type streamWriter struct {
	s      *jsonStream
	stderr bool
}

func (w *streamWriter) Write(p []byte) (int, error) {
	text := string(p)
	if w.stderr {
		text = api.StderrStart + text + api.StderrEnd
	}
	if err := w.s.send(api.Message{Stream: text}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// progressWriter turns the plain lines of a pull or push ("a1b2c3d4e5f6:
// Pull complete", "Digest: sha256:...") into status messages, with the
// layer or tag as the ID where the line has one: docker's client redraws
// those in place, and prints "ID: status" when not on a terminal, which
// is the line again.
type progressWriter struct {
	s       *jsonStream
	mu      sync.Mutex
	pending []byte
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		line := string(w.pending[:i])
		w.pending = w.pending[i+1:]
		if err := w.s.send(progressMessage(line)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush sends an unfinished last line.
func (w *progressWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		_ = w.s.send(progressMessage(string(w.pending)))
		w.pending = nil
	}
}

func progressMessage(line string) api.Message {
	if id, status, ok := strings.Cut(line, ": "); ok {
		if isLayerID(id) || strings.HasPrefix(status, "Pulling from ") {
			return api.Message{ID: id, Status: status}
		}
	}
	return api.Message{Status: line}
}

// isLayerID: the 12 hex digits the progress lines name a layer by.
func isLayerID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
