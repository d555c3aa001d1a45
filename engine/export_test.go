package engine

import "context"

// What the tests of package engine_test use and callers do not need.

// PruneImagesOneByOne is PruneImages as it was before it planned in memory
// (image_removal_legacy_test.go).
func (e *Engine) PruneImagesOneByOne(ctx context.Context, opts PruneImagesOptions) (*PruneReport, error) {
	return e.legacyPruneImages(ctx, opts)
}

// RemoveImageOneByOne is RemoveImage as it was before it planned in memory.
func (e *Engine) RemoveImageOneByOne(ctx context.Context, name string, opts RemoveImageOptions) ([]RemoveRecord, error) {
	return e.legacyRemoveImage(ctx, name, opts)
}

// PruneImagesMeanwhile is PruneImages with meanwhile run after each
// reading of the facts, before the removal is decided and done: another
// berth process changing the store at that instant. attempt counts the
// readings from 1.
func (e *Engine) PruneImagesMeanwhile(ctx context.Context, opts PruneImagesOptions, meanwhile func(attempt int)) ([]RemoveRecord, error) {
	attempt := 0
	return e.remove(ctx, func(r *removal) error {
		attempt++
		meanwhile(attempt)
		return r.prune(ctx, opts.All)
	})
}
