package engine

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/berthkit/berth/engine/store"
)

// ValidateResult is the verdict on one image.
type ValidateResult struct {
	Image *store.Image
	// Name is how the image was asked for, or its first name (familiar form),
	// or "<none>".
	Name string
	// Err is nil for a sound image, a *store.ValidationError listing every
	// problem otherwise.
	Err error
}

// ValidateImages runs the store's validator on the named images, or on every
// image and on the layout itself when names is empty. An image name that
// does not resolve is an error of the whole call.
func (e *Engine) ValidateImages(ctx context.Context, names []string) (results []ValidateResult, layoutErr error, err error) {
	images, err := e.Store.Images()
	if err != nil {
		if len(names) > 0 {
			return nil, nil, err
		}
		// A store too damaged to list its images: say what is wrong with
		// the layout, which is where listing failed.
		if layoutErr = store.ValidateLayout(e.Store); layoutErr == nil {
			layoutErr = &store.ValidationError{Subject: e.Root(), Problems: []string{err.Error()}}
		}
		return nil, layoutErr, nil
	}
	var todo []ValidateResult
	if len(names) == 0 {
		layoutErr = store.ValidateLayout(e.Store)
		for _, img := range images {
			name := "<none>"
			if refs := sortedRefs(img); len(refs) > 0 {
				name = refs[0]
			}
			todo = append(todo, ValidateResult{Image: img, Name: name})
		}
	} else {
		for _, n := range names {
			img, err := store.FindImage(images, n)
			if err != nil {
				return nil, nil, err
			}
			name := n
			if ref, err := store.ParseRef(n); err == nil && !isImageIDPrefix(img.ID, n) {
				name = store.Familiar(ref.String())
			}
			todo = append(todo, ValidateResult{Image: img, Name: name})
		}
	}
	for _, r := range todo {
		if err := ctxErr(ctx); err != nil {
			return results, layoutErr, err
		}
		r.Err = store.Validate(e.Store, r.Image)
		results = append(results, r)
	}
	return results, layoutErr, nil
}

// Leftovers is what killed or interrupted commands left in the store. None
// of it is damage: every listed image stays whole while it is there.
type Leftovers struct {
	// Garbage is what the store's garbage collection removes.
	*store.Garbage
	// TempAtOpen counts the temp entries opening the store already
	// removed (a killed command's, when no other berth process had the
	// store open).
	TempAtOpen int
	// BuildContainers are the intermediate containers of builds that are
	// no longer running (listed only when no other berth process has the
	// store open).
	BuildContainers []string
}

// Empty reports whether nothing was left.
func (l *Leftovers) Empty() bool {
	return l.Garbage.Empty() && l.TempAtOpen == 0 && len(l.BuildContainers) == 0
}

// StoreLeftovers lists what killed and interrupted commands left in the
// store (temp entries, unreferenced blobs and unpacked layers, dangling
// build cache entries, intermediate containers of dead builds), changing
// nothing.
func (e *Engine) StoreLeftovers() (*Leftovers, error) {
	g, err := e.Store.FindGarbage()
	if err != nil {
		return nil, err
	}
	return &Leftovers{Garbage: g, TempAtOpen: len(e.Store.CleanedAtOpen()), BuildContainers: e.deadBuildContainers()}, nil
}

// RepairStore removes what StoreLeftovers lists and returns it. It never
// touches a listed image, a user's container or what a running berth
// process is writing.
func (e *Engine) RepairStore(ctx context.Context) (*Leftovers, error) {
	left := &Leftovers{Garbage: &store.Garbage{}, TempAtOpen: len(e.Store.CleanedAtOpen())}
	// Containers first: they keep their layers live.
	for _, id := range e.deadBuildContainers() {
		if err := e.RemoveContainer(ctx, id, true); err != nil {
			return left, fmt.Errorf("remove intermediate container %s: %w", id[:12], err)
		}
		left.BuildContainers = append(left.BuildContainers, id)
	}
	g, err := e.Store.Repair()
	if g != nil {
		left.Garbage = g
	}
	return left, err
}

// deadBuildContainers lists intermediate containers (of builds and of
// `cp`) when no other berth process has the store open: then no build is
// running, and they are what a killed one left.
func (e *Engine) deadBuildContainers() []string {
	if !e.Store.Alone() {
		return nil
	}
	containers, err := e.Store.Containers()
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range containers {
		if c.Purpose != "" && c.Purpose != "run" {
			out = append(out, c.ID)
		}
	}
	return out
}

// treeSize adds up the sizes of the regular files below dir (0 if it is gone).
func treeSize(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}
