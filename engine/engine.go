package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

// Version is Berth's version, set at link time by the Makefile.
var Version = "0.1.0-dev"

// Options configure Open.
type Options struct {
	// Debug asks for extra detail in errors and logs.
	Debug bool
}

// Engine is an open Berth root.
type Engine struct {
	Store *store.Store
	Debug bool

	recMu     sync.Mutex
	recorders map[int]trace.Recorder
	nextRec   int
	stamper   *trace.Stamper

	// metadataContainers are the records of build metadata steps'
	// containers, which live for one commit and never touch the disk
	// (see ContainerCreateOptions.metadataOnly): ID → *store.Container.
	metadataContainers sync.Map

	// netFiles are the containers whose /etc/hosts and /etc/resolv.conf
	// this process wrote at create, with the host's resolv.conf as it was
	// then: ID → os.FileInfo. A host or none container started while that
	// file is unchanged keeps them instead of writing both again.
	netFiles sync.Map
}

// Open opens the Berth root (creating it if needed).
func Open(root string, opts Options) (*Engine, error) {
	s, err := store.Open(root)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("open berth root %s: %w (run berth as root, or give --root a directory you can write)", root, err)
		}
		return nil, fmt.Errorf("open berth root %s: %w", root, err)
	}
	e := &Engine{Store: s, Debug: opts.Debug, recorders: map[int]trace.Recorder{}}
	e.stamper = trace.NewStamper(trace.RecorderFunc(e.fanOut))
	return e, nil
}

// Close releases the root.
func (e *Engine) Close() error { return e.Store.Close() }

// Root is the absolute path of the Berth root.
func (e *Engine) Root() string { return e.Store.Root() }

// AddRecorder attaches r to every event the engine emits from now on, until
// the returned function is called.
func (e *Engine) AddRecorder(r trace.Recorder) (remove func()) {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	id := e.nextRec
	e.nextRec++
	e.recorders[id] = r
	return func() {
		e.recMu.Lock()
		delete(e.recorders, id)
		e.recMu.Unlock()
	}
}

func (e *Engine) fanOut(ev trace.Event) {
	e.recMu.Lock()
	recs := make([]trace.Recorder, 0, len(e.recorders))
	for i := 0; i < e.nextRec; i++ {
		if r, ok := e.recorders[i]; ok {
			recs = append(recs, r)
		}
	}
	e.recMu.Unlock()
	for _, r := range recs {
		r.Record(ev)
	}
}

// Emit stamps an event (version, sequence, time) and sends it to every
// attached recorder.
func (e *Engine) Emit(ev trace.Event) { e.stamper.Record(ev) }

// ctxErr returns ctx's error wrapped for the user, or nil.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return nil
}

// EmitContext is Emit with the build and step of ctx's trace scope filled in.
func (e *Engine) EmitContext(ctx context.Context, ev trace.Event) {
	if s, ok := trace.ScopeFrom(ctx); ok {
		s.Apply(&ev)
	}
	e.Emit(ev)
}
