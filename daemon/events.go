package daemon

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthkit/berth/trace"
	"github.com/moby/moby/api/types/events"
)

// eventKeep is how many events GET /events?since= can replay, as dockerd's
// 1024.
const eventKeep = 1024

// eventHub turns what the engine does (its trace events) and what the
// daemon does (rename, kill, exec...) into Docker's events: a bounded
// history for since=, and a wake-up for the clients that follow.
type eventHub struct {
	s     *Server
	queue *eventQueue

	mu      sync.Mutex
	log     []events.Message
	total   int           // events ever added; log holds the last ones
	changed chan struct{} // closed and replaced on every new event
	// actors remembers a container's name and image after it is gone, for
	// its destroy event.
	actors map[string]map[string]string
}

func newEventHub(s *Server) *eventHub {
	h := &eventHub{s: s, queue: newEventQueue(maxQueuedOutput), changed: make(chan struct{}), actors: map[string]map[string]string{}}
	return h
}

// run feeds the hub from the engine until the server shuts down. The
// engine calls recorders under its lock: Record only queues, this
// goroutine reads the store.
func (h *eventHub) run(ctx context.Context) {
	remove := h.s.eng.AddRecorder(trace.RecorderFunc(func(ev trace.Event) {
		switch ev.Type {
		case trace.ContainerCreate, trace.ContainerStart, trace.ContainerExit, trace.ContainerRemove,
			trace.ContainerPause, trace.ContainerResume, trace.Tag, trace.PullEnd, trace.PushEnd:
			h.queue.push(ev)
		}
	}))
	go func() {
		<-ctx.Done()
		remove()
		h.queue.close()
	}()
	for {
		ev, ok := h.queue.pop(context.Background())
		if !ok {
			return
		}
		if m, ok := h.fromTrace(ev); ok {
			h.add(m)
		}
	}
}

// fromTrace maps an engine event to Docker's.
func (h *eventHub) fromTrace(ev trace.Event) (events.Message, bool) {
	if c := ev.Container; c != nil {
		if c.Purpose == "commit" {
			return events.Message{}, false
		}
		action := map[trace.Type]events.Action{
			trace.ContainerCreate: events.ActionCreate, trace.ContainerStart: events.ActionStart,
			trace.ContainerExit: events.ActionDie, trace.ContainerRemove: events.ActionDestroy,
			trace.ContainerPause: events.ActionPause, trace.ContainerResume: events.ActionUnPause,
		}[ev.Type]
		attrs := h.containerAttrs(c.ID, c.Name)
		if ev.Type == trace.ContainerExit && c.ExitCode != nil {
			attrs["exitCode"] = strconv.Itoa(*c.ExitCode)
		}
		if ev.Type == trace.ContainerRemove {
			h.mu.Lock()
			delete(h.actors, c.ID)
			h.mu.Unlock()
		}
		return message(events.ContainerEventType, action, c.ID, attrs, ev.Time), true
	}
	switch {
	case ev.Tag != nil:
		return message(events.ImageEventType, events.ActionTag, ev.Tag.Image, map[string]string{"name": ev.Tag.Ref}, ev.Time), true
	case ev.Pull != nil && ev.Type == trace.PullEnd:
		return message(events.ImageEventType, events.ActionPull, ev.Pull.Ref, map[string]string{"name": ev.Pull.Ref}, ev.Time), true
	case ev.Pull != nil && ev.Type == trace.PushEnd:
		return message(events.ImageEventType, events.ActionPush, ev.Pull.Ref, map[string]string{"name": ev.Pull.Ref}, ev.Time), true
	}
	return events.Message{}, false
}

// containerAttrs are the name and image Docker puts on a container's
// events; remembered for when the record is gone.
func (h *eventHub) containerAttrs(id, name string) map[string]string {
	h.mu.Lock()
	known := h.actors[id]
	h.mu.Unlock()
	attrs := map[string]string{}
	if c, err := h.s.eng.ContainerRecord(id); err == nil {
		attrs["name"], attrs["image"] = c.Name, c.ImageRef
		for k, v := range c.Config.Labels {
			attrs[k] = v
		}
		h.mu.Lock()
		h.actors[id] = copyAttrs(attrs)
		h.mu.Unlock()
	} else if known != nil {
		attrs = copyAttrs(known)
	}
	if attrs["name"] == "" && name != "" {
		attrs["name"] = name
	}
	return attrs
}

func copyAttrs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func message(typ events.Type, action events.Action, id string, attrs map[string]string, t time.Time) events.Message {
	if t.IsZero() {
		t = time.Now()
	}
	return events.Message{
		Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs},
		Scope: "local", Time: t.Unix(), TimeNano: t.UnixNano(),
	}
}

// add records m and wakes the followers.
func (h *eventHub) add(m events.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, m)
	h.total++
	if len(h.log) > eventKeep {
		h.log = append([]events.Message(nil), h.log[len(h.log)-eventKeep:]...)
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// emitContainer records an event the daemon itself sees (rename, kill,
// exec...) for container id.
func (s *Server) emitContainer(action events.Action, id string, extra map[string]string) {
	attrs := s.events.containerAttrs(id, "")
	for k, v := range extra {
		attrs[k] = v
	}
	s.events.add(message(events.ContainerEventType, action, id, attrs, time.Now()))
}

// since returns the events added after the first seq ones (those still
// kept), the count to ask from next time and the channel that closes on
// the next event.
func (h *eventHub) since(seq int) ([]events.Message, int, chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	first := h.total - len(h.log)
	if seq < first {
		seq = first
	}
	return append([]events.Message(nil), h.log[seq-first:]...), h.total, h.changed
}

// eventFilter is GET /events' filters: within a key any value matches,
// every key must match.
type eventFilter map[string][]string

func (f eventFilter) match(m events.Message) bool {
	if !f.any("type", string(m.Type)) || !f.any("event", string(m.Action)) && !f.anyPrefix("event", string(m.Action)) {
		return false
	}
	if vals, ok := f["container"]; ok {
		if m.Type != events.ContainerEventType || !matchContainer(vals, m.Actor.ID, m.Actor.Attributes["name"]) {
			return false
		}
	}
	if vals, ok := f["image"]; ok {
		img := m.Actor.Attributes["image"]
		if m.Type == events.ImageEventType {
			img = m.Actor.Attributes["name"]
		}
		if !matchImage(vals, img, m.Actor.ID) {
			return false
		}
	}
	if vals, ok := f["label"]; ok {
		for _, v := range vals {
			k, want, hasValue := strings.Cut(v, "=")
			got, present := m.Actor.Attributes[k]
			if !present || hasValue && got != want {
				return false
			}
		}
	}
	return true
}

func (f eventFilter) any(key, value string) bool {
	vals, ok := f[key]
	if !ok {
		return true
	}
	for _, v := range vals {
		if v == value {
			return true
		}
	}
	return false
}

// anyPrefix: "exec_start" matches "exec_start: sh", as Docker's filter.
func (f eventFilter) anyPrefix(key, value string) bool {
	for _, v := range f[key] {
		if strings.HasPrefix(value, v+":") {
			return true
		}
	}
	return false
}

func matchContainer(vals []string, id, name string) bool {
	for _, v := range vals {
		v = strings.TrimPrefix(v, "/")
		if v == name || (v != "" && strings.HasPrefix(id, v)) {
			return true
		}
	}
	return false
}

func matchImage(vals []string, name, id string) bool {
	for _, v := range vals {
		if v == name || v == id || strings.TrimSuffix(name, ":latest") == strings.TrimSuffix(v, ":latest") ||
			strings.TrimPrefix(id, "sha256:") == strings.TrimPrefix(v, "sha256:") {
			return true
		}
	}
	return false
}

// parseEventTime reads since/until as the docker client sends them: Unix
// seconds with an optional fraction ("1700000000.000000000").
func parseEventTime(key, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	secStr, fracStr, _ := strings.Cut(v, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil || len(fracStr) > 9 {
		return time.Time{}, badRequestf("invalid value for %s: %q is not a Unix timestamp", key, v)
	}
	var nsec int64
	if fracStr != "" {
		nsec, err = strconv.ParseInt(fracStr+strings.Repeat("0", 9-len(fracStr)), 10, 64)
		if err != nil {
			return time.Time{}, badRequestf("invalid value for %s: %q is not a Unix timestamp", key, v)
		}
	}
	const maxSec = math.MaxInt64/int64(time.Second) - 1
	if sec > maxSec {
		sec = maxSec
	}
	return time.Unix(sec, nsec), nil
}

// systemEvents is GET /events: the recorded events since since=, then new
// ones as they happen, until until= or the client goes.
func (s *Server) systemEvents(w *responseWriter, r *request) error {
	q := r.URL.Query()
	since, err := parseEventTime("since", q.Get("since"))
	if err != nil {
		return err
	}
	until, err := parseEventTime("until", q.Get("until"))
	if err != nil {
		return err
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return badRequestf("`since` time (%s) cannot be after `until` time (%s)", q.Get("since"), q.Get("until"))
	}
	flt, err := eventFilters(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if !until.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, until)
		defer cancel()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	start := time.Now()
	past, seq, changed := s.events.since(0)
	for _, m := range past {
		at := time.Unix(0, m.TimeNano)
		if since.IsZero() && at.Before(start) || !since.IsZero() && at.Before(since) {
			continue // without since, only what happens from now
		}
		if err := sendEvent(w, flt, until, m); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case <-changed:
		}
		var fresh []events.Message
		fresh, seq, changed = s.events.since(seq)
		for _, m := range fresh {
			if err := sendEvent(w, flt, until, m); err != nil {
				return err
			}
		}
	}
}

// sendEvent writes m when it passes the filter and is not after until.
func sendEvent(w *responseWriter, flt eventFilter, until time.Time, m events.Message) error {
	if !until.IsZero() && time.Unix(0, m.TimeNano).After(until) || !flt.match(m) {
		return nil
	}
	data, err := jsonMarshal(m)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	w.Flush()
	return nil
}

// eventFilters reads filters= into key → values, refusing keys Berth does
// not filter on.
func eventFilters(r *request) (eventFilter, error) {
	kvs, err := filtersValue(r)
	if err != nil {
		return nil, err
	}
	f := eventFilter{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "type", "container", "image", "event", "label":
			f[k] = append(f[k], v)
		default:
			return nil, badRequestf("invalid filter '%s'", k)
		}
	}
	return f, nil
}
