package daemon

import (
	"context"
	"sync"

	"github.com/berthkit/berth/trace"
)

// eventQueue hands engine events to a goroutine that writes them to a
// client. The engine calls its recorders under one lock, so a recorder must
// never wait for a client: Record only appends here. What a slow client has
// not read yet is bounded by limit (bytes of output text and a fixed cost
// per event); past it the queue overflows and says so once.
type eventQueue struct {
	mu       sync.Mutex
	items    []trace.Event
	size     int
	limit    int
	overflow bool
	closed   bool
	ready    chan struct{}
}

// perEventCost approximates an event's memory beyond its output text.
const perEventCost = 512

func newEventQueue(limit int) *eventQueue {
	return &eventQueue{limit: limit, ready: make(chan struct{}, 1)}
}

func eventSize(ev trace.Event) int {
	n := perEventCost
	if ev.Output != nil {
		n += len(ev.Output.Text)
	}
	return n
}

// push appends ev; it reports false (and drops ev) when the queue is over
// its limit.
func (q *eventQueue) push(ev trace.Event) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	n := eventSize(ev)
	if q.size+n > q.limit {
		q.overflow = true
		return false
	}
	q.items = append(q.items, ev)
	q.size += n
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// pop waits for the next event. ok is false when ctx ended or the queue is
// closed and drained.
func (q *eventQueue) pop(ctx context.Context) (ev trace.Event, ok bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			ev = q.items[0]
			q.items[0] = trace.Event{}
			q.items = q.items[1:]
			q.size -= eventSize(ev)
			q.mu.Unlock()
			return ev, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return ev, false
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return ev, false
		}
	}
}

// overflowed reports (and clears) an overflow since the last call.
func (q *eventQueue) overflowed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	o := q.overflow
	q.overflow = false
	return o
}

// close lets pop drain what is queued and then report the end.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}
