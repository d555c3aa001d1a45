package build

import (
	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
)

// cacheWrite is a step's cache entry being written while the build goes
// on (putCache).
type cacheWrite struct {
	done chan struct{}
	err  error
	// step and ins are the step the entry is for, which a failed write is
	// reported against.
	step int
	ins  *dockerfile.Instruction
}

// putCache writes a step's cache entry in the background: the next step's
// container is created and started meanwhile, on the machine's other core
// while this one waits for the container's init. At most one entry is in
// flight; waitCache joins it before anything of this build reads the
// cache (a probe that looks for candidates), before the next entry, and
// at the build's end, failed or not, so a finished build has written all
// its entries (and a failed write fails the build, naming its step) and
// the batch's end sees them in place. Entries are not fsynced (CachePut
// says why), so nothing about durability moves.
func (b *Builder) putCache(e store.CacheEntry, ins *dockerfile.Instruction) error {
	if err := b.waitCache(); err != nil {
		return err
	}
	w := &cacheWrite{done: make(chan struct{}), step: b.step, ins: ins}
	b.cacheWrite = w
	go func() {
		defer close(w.done)
		w.err = b.store.CachePut(e)
	}()
	return nil
}

// waitCache waits for the cache entry in flight, if any, and returns its
// error as the error of the step it was for.
func (b *Builder) waitCache() error {
	w := b.cacheWrite
	if w == nil {
		return nil
	}
	<-w.done
	b.cacheWrite = nil
	if w.err == nil {
		return nil
	}
	err := w.err
	if w.ins != nil && w.ins.Line > 0 {
		err = b.df.ErrorAt(w.ins, err)
	}
	return &StepError{Step: w.step, Err: err}
}
