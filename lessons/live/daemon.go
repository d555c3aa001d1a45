package live

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/lessons"
	"github.com/berthkit/berth/trace"
)

// ErrNoDaemon is returned by Dial when no berth daemon answers.
var ErrNoDaemon = errors.New("no berth daemon answers")

// daemonWait bounds how long an action waits for the daemon's trace to
// show the end of work the daemon already reported done.
const daemonWait = 30 * time.Second

// DaemonBackend runs a lesson's actions through a berth daemon, as the
// notes draw it: Dockerfile → client → server → image. Each action is a
// request over the daemon's socket; the daemon's own events come back
// through its trace stream (GET /berth/trace) and the client's side of
// each request is recorded beside them as client.request, client.upload
// and client.response events. It implements lessons.Backend.
type DaemonBackend struct {
	Host   string
	c      *client.Client
	stamp  *trace.Stamper
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	recs    map[int]trace.Recorder
	nextRec int
	waiters []*waiter
	recent  []trace.Event // the daemon's last events, for waits registered late
	// made are the containers and networks the lesson made, removed at
	// the end when the lesson did not remove them itself.
	containers, networks []string
	// gate holds the daemon's events back while a build's context is
	// still being uploaded, so the trace shows the upload before the
	// server's work, as it happens.
	gate sync.Mutex
}

var _ lessons.Backend = (*DaemonBackend)(nil)

type waiter struct {
	match func(trace.Event) bool
	done  chan struct{}
}

// Dial connects to the daemon at host and starts following its trace.
// No daemon there is ErrNoDaemon, with what to do.
func Dial(ctx context.Context, host string) (*DaemonBackend, error) {
	c, err := client.New(host, client.Options{UserAgent: "berth-lesson/" + engine.Version})
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		cause := err
		var ce *client.ConnectError
		if errors.As(err, &ce) && ce.Err != nil {
			cause = ce.Err
		}
		return nil, fmt.Errorf("%w at %s: start one with `berth daemon --host %s`, or drop --via-daemon to run the engine in this process (%v)", ErrNoDaemon, host, host, cause)
	}
	fctx, cancel := context.WithCancel(context.Background())
	body, err := c.TraceFollow(fctx)
	if err != nil {
		cancel()
		c.Close()
		return nil, fmt.Errorf("follow the trace of the daemon at %s: %w", host, err)
	}
	b := &DaemonBackend{Host: host, c: c, cancel: cancel, done: make(chan struct{}), recs: map[int]trace.Recorder{}}
	b.stamp = trace.NewStamper(trace.RecorderFunc(b.fanOut))
	go func() {
		defer close(b.done)
		defer body.Close()
		followTrace(body, b.deliver)
	}()
	return b, nil
}

// followTrace decodes the daemon's trace stream, one event per line, until
// it ends; a line that is no event ends it too.
func followTrace(r io.Reader, deliver func(trace.Event)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var ev trace.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			return
		}
		deliver(ev)
	}
}

// Close stops following the daemon's trace.
func (b *DaemonBackend) Close() {
	b.cancel()
	<-b.done
	b.c.Close()
}

// deliver passes one of the daemon's events on, once no upload holds them.
func (b *DaemonBackend) deliver(ev trace.Event) {
	b.gate.Lock()
	b.stamp.Record(ev)
	b.gate.Unlock()
	b.mu.Lock()
	if len(b.recent) == maxRecent {
		b.recent = append(b.recent[:0], b.recent[1:]...)
	}
	b.recent = append(b.recent, ev)
	kept := b.waiters[:0]
	for _, w := range b.waiters {
		if w.match(ev) {
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	b.waiters = kept
	b.mu.Unlock()
}

func (b *DaemonBackend) fanOut(ev trace.Event) {
	b.mu.Lock()
	ids := make([]int, 0, len(b.recs))
	for id := range b.recs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	recs := make([]trace.Recorder, 0, len(ids))
	for _, id := range ids {
		recs = append(recs, b.recs[id])
	}
	b.mu.Unlock()
	for _, r := range recs {
		r.Record(ev)
	}
}

// expect registers a wait for the daemon event that ends an action.
func (b *DaemonBackend) expect(match func(trace.Event) bool) *waiter {
	w := &waiter{match: match, done: make(chan struct{})}
	b.mu.Lock()
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	return w
}

// maxRecent bounds the daemon events kept for seen.
const maxRecent = 256

// seen is expect for an event that may already have come: the answer to a
// request can overtake the daemon's trace of it, or follow it.
func (b *DaemonBackend) seen(match func(trace.Event) bool) *waiter {
	b.mu.Lock()
	for _, ev := range b.recent {
		if match(ev) {
			b.mu.Unlock()
			w := &waiter{match: match, done: make(chan struct{})}
			close(w.done)
			return w
		}
	}
	b.mu.Unlock()
	return b.expect(match)
}

// drop forgets a wait whose action failed before its event.
func (b *DaemonBackend) drop(w *waiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.waiters {
		if x == w {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			return
		}
	}
}

// await waits until w's event has been delivered.
func (b *DaemonBackend) await(ctx context.Context, w *waiter, what string) error {
	defer b.drop(w)
	t := time.NewTimer(daemonWait)
	defer t.Stop()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-b.done:
		return fmt.Errorf("the daemon at %s stopped its trace before %s", b.Host, what)
	case <-t.C:
		return fmt.Errorf("the daemon at %s did not show %s in its trace within %s", b.Host, what, daemonWait)
	}
}

// AddRecorder attaches r to the daemon's events and the client's.
func (b *DaemonBackend) AddRecorder(r trace.Recorder) func() {
	b.mu.Lock()
	id := b.nextRec
	b.nextRec++
	b.recs[id] = r
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.recs, id)
		b.mu.Unlock()
	}
}

// Note puts a lesson marker into the stream.
func (b *DaemonBackend) Note(text string) {
	b.stamp.Record(trace.Event{Type: trace.Message, Message: &trace.MessageInfo{Level: "info", Text: text}})
}

// DaemonHost is where the lesson's engine runs, for its banner.
func (b *DaemonBackend) DaemonHost() string { return b.Host }

// Version names the client and the daemon it talks to.
func (b *DaemonBackend) Version() string { return "berth " + engine.Version }

// request records the client's request and returns what records its answer.
func (b *DaemonBackend) request(method, path string) func(ci trace.ClientInfo, err error) {
	start := time.Now()
	b.stamp.Record(trace.Event{Type: trace.ClientRequest, Client: &trace.ClientInfo{Host: b.Host, Method: method, Path: path}})
	return func(ci trace.ClientInfo, err error) {
		ci.Host, ci.Method, ci.Path = b.Host, method, path
		ci.DurationMS = time.Since(start).Milliseconds()
		if err != nil {
			ci.Error = err.Error()
		}
		var de *client.Error
		switch {
		case ci.Status != 0: // the caller knows: an error inside a 200's stream
		case errors.As(err, &de):
			ci.Status = de.StatusCode
		case err == nil:
			ci.Status = 200
		}
		b.stamp.Record(trace.Event{Type: trace.ClientResponse, Client: &ci})
	}
}

// contextDir is the directory a build spec names inside workspace.
func contextDir(workspace string, spec lessons.BuildSpec) string {
	return filepath.Join(workspace, filepath.FromSlash(spec.Context))
}

// Remove removes containers through the daemon.
func (b *DaemonBackend) Remove(ctx context.Context, spec lessons.RmSpec) error {
	for _, name := range spec.Containers {
		w := b.expect(func(ev trace.Event) bool {
			c := ev.Container
			return ev.Type == trace.ContainerRemove && c != nil && (c.Name == name || strings.HasPrefix(c.ID, name))
		})
		answer := b.request("DELETE", "/containers/"+name)
		err := b.c.RemoveContainer(ctx, name, spec.Force)
		if err == nil {
			err = b.await(ctx, w, "container "+name+" removed")
		} else {
			b.drop(w)
		}
		answer(trace.ClientInfo{Container: name}, err)
		if err != nil {
			return err
		}
	}
	return nil
}

// Network creates or removes a network through the daemon.
func (b *DaemonBackend) Network(ctx context.Context, spec lessons.NetworkSpec) error {
	switch spec.Op {
	case "create":
		answer := b.request("POST", "/networks/create")
		id, err := b.c.CreateNetwork(ctx, spec.Name)
		answer(trace.ClientInfo{}, err)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.networks = append(b.networks, id)
		b.mu.Unlock()
		b.Note(fmt.Sprintf("network %s created by the daemon: a bridge; its containers find each other by name", spec.Name))
	case "rm":
		answer := b.request("DELETE", "/networks/"+spec.Name)
		err := b.c.RemoveNetwork(ctx, spec.Name)
		answer(trace.ClientInfo{}, err)
		if err != nil {
			return err
		}
		b.Note(fmt.Sprintf("network %s removed by the daemon, with its bridge", spec.Name))
	default:
		return fmt.Errorf("network %s: use create or rm", spec.Op)
	}
	return nil
}

// cleanup removes the containers and networks the lesson made and left.
func (b *DaemonBackend) cleanup(ctx context.Context) error {
	b.mu.Lock()
	cs, ns := b.containers, b.networks
	b.containers, b.networks = nil, nil
	b.mu.Unlock()
	var firstErr error
	for _, id := range cs {
		if err := b.c.RemoveContainer(ctx, id, true); err != nil && !client.IsNotFound(err) && firstErr == nil {
			firstErr = fmt.Errorf("remove the lesson's container %.12s from the daemon: %w", id, err)
		}
	}
	for _, id := range ns {
		if err := b.c.RemoveNetwork(ctx, id); err != nil && !client.IsNotFound(err) && firstErr == nil {
			firstErr = fmt.Errorf("remove the lesson's network %.12s from the daemon: %w", id, err)
		}
	}
	return firstErr
}
