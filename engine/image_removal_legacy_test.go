package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// The removal as it was before it was planned in memory (main at 4b2e4c0):
// RemoveImage, deleteImage, releasedLayers and PruneImages, copied with
// "legacy" names; the only edits are those names and f.children, a count
// now. It reads the facts again and writes the store for every image. The
// tests hold the planned removal to its records and to the store it leaves
// (TestPruneImagesMatchesOneByOne, TestRemoveImageMatchesOneByOne).

func (e *Engine) legacyRemoveImage(ctx context.Context, name string, opts RemoveImageOptions) ([]RemoveRecord, error) {
	if records, ok, err := e.untagOneOfMany(ctx, name); ok {
		return records, err
	}
	f, err := e.imageFacts()
	if err != nil {
		return nil, err
	}
	img, err := store.FindImage(f.images, name)
	if err != nil {
		// A multi-platform index pushed to `registry serve` goes by name.
		if records, ok, ierr := e.removeIndex(name); ok || ierr != nil {
			return records, ierr
		}
		return nil, err
	}
	var records []RemoveRecord
	id := img.ID
	removedRef := false
	if !isImageIDPrefix(id, name) {
		ref, err := store.ParseRef(name)
		if err != nil {
			return nil, err
		}
		if !opts.Force && len(img.Refs) == 1 {
			if users := f.usedBy(id); len(users) > 0 {
				return nil, fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s: %w",
					name, users[0].ShortID(), img.ShortID(), store.ErrConflict)
			}
		}
		if _, isDigest := ref.(reference.Digested); isDigest {
			// name@digest names the image, not one of its tags: remove it whole.
			return e.legacyRemoveByID(ctx, f, img, opts)
		}
		if _, err := e.Store.Untag(ref.String()); err != nil {
			return nil, err
		}
		records = append(records, RemoveRecord{Untagged: reference.FamiliarString(ref)})
		if len(img.Refs) > 1 {
			return records, ctxErr(ctx)
		}
		removedRef = true
	} else {
		return e.legacyRemoveByID(ctx, f, img, opts)
	}
	more, err := e.legacyDeleteImage(ctx, img.ID, opts.Force, !opts.NoPrune, removedRef)
	return append(records, more...), err
}

func (e *Engine) legacyRemoveByID(ctx context.Context, f *imageFacts, img *store.Image, opts RemoveImageOptions) ([]RemoveRecord, error) {
	var records []RemoveRecord
	if len(img.Refs) <= 1 {
		mask := conflictHard
		if !opts.Force {
			mask |= conflictSoft &^ conflictActiveReference
		}
		if c := f.conflict(img, mask); c != nil {
			return nil, c
		}
		for _, full := range img.Refs {
			if _, err := e.Store.Untag(full); err != nil {
				return records, err
			}
			records = append(records, RemoveRecord{Untagged: store.Familiar(full)})
		}
	}
	more, err := e.legacyDeleteImage(ctx, img.ID, opts.Force, !opts.NoPrune, false)
	return append(records, more...), err
}

// deleteImage is Docker's imageDeleteHelper: check conflicts, drop every
// remaining name, delete the image, report the layers it released, then
// (prune) do the same quietly for its parent.
func (e *Engine) legacyDeleteImage(ctx context.Context, id digest.Digest, force, prune, quiet bool) ([]RemoveRecord, error) {
	var records []RemoveRecord
	for {
		if err := ctxErr(ctx); err != nil {
			return records, err
		}
		f, err := e.imageFacts()
		if err != nil {
			return records, err
		}
		var img *store.Image
		for _, candidate := range f.images {
			if candidate.ID == id {
				img = candidate
			}
		}
		if img == nil {
			if quiet {
				return records, nil
			}
			return records, &notFound{"No such image: " + id.String()}
		}
		mask := conflictHard
		if !force {
			mask |= conflictSoft
		}
		if c := f.conflict(img, mask); c != nil {
			dangling := len(img.Refs) == 0 && f.children[img.ID] == 0
			if quiet && (!dangling || c.used) {
				return records, nil
			}
			return records, c
		}
		for _, full := range img.Refs {
			records = append(records, RemoveRecord{Untagged: store.Familiar(full)})
		}
		released := f.legacyReleasedLayers(img)
		if err := e.Store.DeleteImage(img.ID); err != nil {
			return records, fmt.Errorf("delete image %s: %w", img.ShortID(), err)
		}
		records = append(records, RemoveRecord{Deleted: img.ID.String()})
		records = append(records, released...)
		if !prune || img.Parent == "" {
			return records, nil
		}
		// Prune the parent: never forced, and quietly stop at a conflict.
		id, force, quiet = img.Parent, false, true
	}
}

// releasedLayers lists the layers (top first, by chain ID) that deleting img
// leaves without any image or container using them, as Docker reports them.
func (f *imageFacts) legacyReleasedLayers(img *store.Image) []RemoveRecord {
	used := map[digest.Digest]bool{}
	for _, other := range f.images {
		if other.ID == img.ID {
			continue
		}
		for _, c := range other.ChainIDs() {
			used[c] = true
		}
	}
	for _, c := range f.containers {
		for _, chain := range c.LayerChainIDs {
			used[digest.Digest(chain)] = true
			used[digest.NewDigestFromEncoded(digest.SHA256, strings.TrimPrefix(chain, "sha256:"))] = true
		}
	}
	sizes := f.layerSizes(img)
	chains := img.ChainIDs()
	var out []RemoveRecord
	for i := len(chains) - 1; i >= 0; i-- {
		if used[chains[i]] {
			continue
		}
		used[chains[i]] = true
		out = append(out, RemoveRecord{Deleted: chains[i].String(), Size: sizes[i]})
	}
	return out
}

func (e *Engine) legacyPruneImages(ctx context.Context, opts PruneImagesOptions) (*PruneReport, error) {
	report := &PruneReport{}
	done := map[digest.Digest]bool{}
	for {
		f, err := e.imageFacts()
		if err != nil {
			return report, err
		}
		progress := false
		for _, img := range f.images {
			if err := ctxErr(ctx); err != nil {
				return report, err
			}
			if done[img.ID] || len(f.usedBy(img.ID)) > 0 || f.children[img.ID] > 0 {
				continue
			}
			if len(img.Refs) > 0 && !opts.All {
				continue
			}
			done[img.ID] = true
			var records []RemoveRecord
			if len(img.Refs) == 0 {
				records, err = e.legacyDeleteImage(ctx, img.ID, false, true, false)
			} else {
				for _, full := range img.Refs {
					var more []RemoveRecord
					more, err = e.legacyRemoveImage(ctx, full, RemoveImageOptions{})
					records = append(records, more...)
					if err != nil {
						break
					}
				}
			}
			for _, r := range records {
				report.Reclaimed += r.Size
			}
			report.Records = append(report.Records, records...)
			if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				return report, err
			}
			progress = true
			break // the facts changed: look again
		}
		if !progress {
			return report, nil
		}
	}
}
