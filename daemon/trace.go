package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/berthkit/berth/trace"
)

// maxQueuedTrace bounds the events a slow follower leaves unread; past it
// events are dropped and the follower is told how many.
const maxQueuedTrace = 16 << 20

func (s *Server) traceFollow(w *responseWriter, r *request) error {
	q := newEventQueue(maxQueuedTrace)
	var dropped atomic.Int64
	remove := s.eng.AddRecorder(trace.RecorderFunc(func(ev trace.Event) {
		if !q.push(ev) {
			dropped.Add(1)
		}
	}))
	defer remove()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	ctx := r.Context()
	for {
		ev, ok := q.pop(ctx)
		if !ok {
			return nil
		}
		if q.overflowed() {
			if n := dropped.Swap(0); n > 0 {
				note := trace.Event{Version: trace.SchemaVersion, Type: trace.Message, Time: ev.Time,
					Message: &trace.MessageInfo{Level: "warning", Text: fmt.Sprintf("berth daemon: %d events were dropped: this follower read too slowly", n)}}
				if err := writeLine(w, note); err != nil {
					return err
				}
			}
		}
		if err := writeLine(w, ev); err != nil {
			return err
		}
	}
}

func writeLine(w *responseWriter, ev trace.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return err
	}
	w.Flush()
	return nil
}
