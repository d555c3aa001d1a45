package engine

import (
	"context"
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

// StoreLeftovers lists what crashes and interrupted commands left in the
// store (temp entries, unreferenced blobs and unpacked layers, dangling
// build cache entries), changing nothing. Leftovers are not damage: every
// listed image stays whole while they are there.
func (e *Engine) StoreLeftovers() (*store.Garbage, error) {
	return e.Store.FindGarbage()
}

// RepairStore removes the leftovers StoreLeftovers lists and returns them,
// with the temp entries opening the store already removed (those of a
// killed command, when no other berth process had the store open).
func (e *Engine) RepairStore() (removed *store.Garbage, cleanedAtOpen []string, err error) {
	removed, err = e.Store.Repair()
	return removed, e.Store.CleanedAtOpen(), err
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

// countFiles counts the regular files below dir.
func countFiles(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}
