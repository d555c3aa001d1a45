package engine

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// Removing images (rmi's deletions, image prune) is decided on one reading
// of the facts, in memory, then done in one store.RemoveImages: one rewrite
// of index.json and one garbage collection, whatever the number of images.
// It used to read the facts of every image again, rewrite the index and
// walk the store once per image: `image prune -a` grew with the square of
// the images (minutes at 3,206). Each planned step changes the facts as
// doing it would have: a name leaves its image, a deleted image leaves the
// listing, its parent loses a child and its layers a user. So the plan
// makes the decisions, and gives the records, that removing image by image
// did (TestPruneImagesMatchesOneByOne, TestRemoveImageMatchesOneByOne).

// removal is a plan: the records, in order, and the store changes that
// make them true.
type removal struct {
	f       *imageFacts
	records []RemoveRecord
	changes []store.ImageRemoval
	at      map[digest.Digest]int // image ID → its entry in changes
	// deleted are the images the plan deletes, in order.
	deleted []*store.Image
}

func newRemoval(f *imageFacts) *removal {
	f.index()
	return &removal{f: f, at: map[digest.Digest]int{}}
}

// change is the image's entry in the plan's store changes.
func (r *removal) change(id digest.Digest) *store.ImageRemoval {
	i, ok := r.at[id]
	if !ok {
		i = len(r.changes)
		r.at[id] = i
		r.changes = append(r.changes, store.ImageRemoval{ID: id})
	}
	return &r.changes[i]
}

// untag takes the name full from image id.
func (r *removal) untag(id digest.Digest, full string) {
	r.f.untag(id, full)
	c := r.change(id)
	c.Untag = append(c.Untag, full)
}

// delete is Docker's imageDeleteHelper, planned: check conflicts, drop
// every remaining name, delete the image, report the layers it released,
// then (prune) do the same quietly for its parent.
func (r *removal) delete(id digest.Digest, force, prune, quiet bool) error {
	for {
		img := r.f.image(id)
		if img == nil {
			if quiet {
				return nil
			}
			return &notFound{"No such image: " + id.String()}
		}
		mask := conflictHard
		if !force {
			mask |= conflictSoft
		}
		if c := r.f.conflict(img, mask); c != nil {
			dangling := len(img.Refs) == 0 && r.f.children[img.ID] == 0
			if quiet && (!dangling || c.used) {
				return nil
			}
			return c
		}
		for _, full := range img.Refs {
			r.records = append(r.records, RemoveRecord{Untagged: store.Familiar(full)})
			r.untag(img.ID, full)
		}
		released := r.f.releasedLayers(img)
		r.change(img.ID).Delete = true
		r.f.forget(img)
		r.deleted = append(r.deleted, img)
		r.records = append(r.records, RemoveRecord{Deleted: img.ID.String()})
		r.records = append(r.records, released...)
		if !prune || img.Parent == "" {
			return nil
		}
		// Prune the parent: never forced, and quietly stop at a conflict.
		id, force, quiet = img.Parent, false, true
	}
}

// index makes the map a removal plans on: the images by ID, as the plan
// leaves them.
func (f *imageFacts) index() {
	if f.byID != nil {
		return
	}
	f.byID = make(map[digest.Digest]*store.Image, len(f.images))
	for _, img := range f.images {
		f.byID[img.ID] = img
	}
}

// image is the image id as the plan leaves it so far, nil once deleted.
func (f *imageFacts) image(id digest.Digest) *store.Image { return f.byID[id] }

// untag takes the name full from image id: the image becomes a new value,
// the one read is not changed.
func (f *imageFacts) untag(id digest.Digest, full string) {
	img := f.byID[id]
	if img == nil {
		return
	}
	c := *img
	c.Refs = make([]string, 0, len(img.Refs))
	for _, r := range img.Refs {
		if r != full {
			c.Refs = append(c.Refs, r)
		}
	}
	f.byID[id] = &c
}

// forget takes a deleted image out of the facts: the listing, its
// parent's children and its layers' users.
func (f *imageFacts) forget(img *store.Image) {
	// Counted while img is still listed, so that it is taken off once.
	f.countChains()
	delete(f.byID, img.ID)
	if img.Parent != "" && f.children[img.Parent] > 0 {
		f.children[img.Parent]--
	}
	for _, c := range img.ChainIDs() {
		f.chainUsers[c]--
	}
}

// countChains counts, for every chain ID, the listed images whose layer
// stack holds it, and notes the chain IDs containers use.
func (f *imageFacts) countChains() {
	if f.chainUsers != nil {
		return
	}
	f.chainUsers = map[digest.Digest]int{}
	for _, img := range f.byID {
		for _, c := range img.ChainIDs() {
			f.chainUsers[c]++
		}
	}
	f.containerChains = map[digest.Digest]bool{}
	for _, c := range f.containers {
		for _, chain := range c.LayerChainIDs {
			f.containerChains[digest.Digest(chain)] = true
			f.containerChains[digest.NewDigestFromEncoded(digest.SHA256, strings.TrimPrefix(chain, "sha256:"))] = true
		}
	}
}

// releasedLayers lists the layers (top first, by chain ID) that deleting img
// leaves without any image or container using them, as Docker reports them.
func (f *imageFacts) releasedLayers(img *store.Image) []RemoveRecord {
	f.countChains()
	chains := img.ChainIDs()
	sizes := f.layerSizes(img)
	var out []RemoveRecord
	for i := len(chains) - 1; i >= 0; i-- {
		// img is one of the chain's users; it has each chain ID once, as
		// each names a longer stack than the one below.
		if c := chains[i]; f.chainUsers[c] == 1 && !f.containerChains[c] {
			out = append(out, RemoveRecord{Deleted: c.String(), Size: sizes[i]})
		}
	}
	return out
}

// removeAttempts is how many times a removal reads the facts and decides
// when other berth processes keep changing the images it decided on.
const removeAttempts = 3

// remove reads the facts, plans on them with plan and does what it decided
// in one store.RemoveImages. When the index changed under the plan (a name
// given to an image it deletes, an image gone meanwhile), nothing was
// changed: it reads and plans again. When the plan fails (a conflict of
// rmi, an interrupt), nothing is changed either.
func (e *Engine) remove(ctx context.Context, plan func(*removal) error) ([]RemoveRecord, error) {
	for attempt := 1; ; attempt++ {
		f, err := e.removalFacts()
		if err != nil {
			return nil, err
		}
		r := newRemoval(f)
		if err := plan(r); err != nil {
			return nil, err
		}
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		// The facts are not needed past the plan: let them go while the
		// store reads and rewrites index.json (a prune of 10,000 images
		// held both).
		r.f, r.deleted, r.at = nil, nil, nil
		unlisted, err := e.Store.RemoveImages(r.changes)
		switch {
		case unlisted:
			if err != nil {
				// The images are gone; what they leave is garbage for the next GC.
				err = fmt.Errorf("free the blobs and layers of the images removed: %w", err)
			}
			return r.records, err
		case errors.Is(err, store.ErrConflict) && attempt < removeAttempts:
			continue
		case errors.Is(err, store.ErrConflict):
			return nil, fmt.Errorf("other berth commands kept changing the images while they were being removed (tried %d times): %w", attempt, err)
		case err != nil:
			return nil, err
		}
		return r.records, nil // nothing to change
	}
}

// deleteImage deletes the image, and with prune its untagged parents, as
// Docker's imageDeleteHelper (removal.delete), in one removal from the
// store.
func (e *Engine) deleteImage(ctx context.Context, id digest.Digest, force, prune, quiet bool) ([]RemoveRecord, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	return e.remove(ctx, func(r *removal) error { return r.delete(id, force, prune, quiet) })
}

// PruneImagesOptions are `image prune`'s flags.
type PruneImagesOptions struct {
	// All removes every image no container uses, not only dangling ones.
	All bool
}

// PruneReport says what a prune removed.
type PruneReport struct {
	Records []RemoveRecord
	// Reclaimed is the uncompressed size of the layers deleted.
	Reclaimed int64
}

// PruneImages removes dangling images (untagged, without children), or with
// All every image that no container uses, as `docker image prune` does.
// Images that cannot go (a child image needs them) are skipped. Everything
// goes in one removal from the store, after every decision is made: an
// interrupt (ctx) before it removes nothing, and once it has begun the
// removal completes (the index is written once; a kill leaves only
// garbage, see store.RemoveImages).
func (e *Engine) PruneImages(ctx context.Context, opts PruneImagesOptions) (*PruneReport, error) {
	records, err := e.remove(ctx, func(r *removal) error { return r.prune(ctx, opts.All) })
	report := &PruneReport{Records: records}
	for _, rec := range records {
		report.Reclaimed += rec.Size
	}
	return report, err
}

// prune plans `image prune` as it was done image by image: remove the
// first image, in listing order (newest first), that can go; then look
// again from the start, as removing an image may free one listed before it
// (a tagged parent, with all). Here the images that can go wait in a heap
// by listing position, and a parent joins it when its last child goes:
// each step takes the same image as that scan from the start, without
// the scan.
func (r *removal) prune(ctx context.Context, all bool) error {
	f := r.f
	position := make(map[digest.Digest]int, len(f.images))
	for i, img := range f.images {
		position[img.ID] = i
	}
	tried := map[digest.Digest]bool{}
	canGo := func(id digest.Digest) bool {
		img := f.image(id)
		return img != nil && !tried[id] && len(f.usedBy(id)) == 0 && f.children[id] == 0 && (all || len(img.Refs) == 0)
	}
	var waiting positions
	for i, img := range f.images {
		if canGo(img.ID) {
			waiting = append(waiting, i) // in order: already a heap
		}
	}
	for waiting.Len() > 0 {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		id := f.images[heap.Pop(&waiting).(int)].ID
		if !canGo(id) {
			continue
		}
		tried[id] = true
		gone := len(r.deleted)
		err := r.pruneOne(f.image(id))
		if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		for _, img := range r.deleted[gone:] {
			if p, listed := position[img.Parent]; listed && canGo(img.Parent) {
				heap.Push(&waiting, p)
			}
		}
	}
	return nil
}

// pruneOne removes one image prune found unused and childless: an
// untagged one as `rmi ID`, a tagged one (with all) name by name, as `rmi
// NAME` of each. An error stops at that image; its records so far stay.
func (r *removal) pruneOne(img *store.Image) error {
	if len(img.Refs) == 0 {
		return r.delete(img.ID, false, true, false)
	}
	for _, full := range img.Refs {
		if err := r.removeName(img.ID, full); err != nil {
			return err
		}
	}
	return nil
}

// removeName is RemoveImage(full) without Force, planned, for a name of
// an image no container uses: one of several names is untagged; the last
// one is untagged and the image deleted, quietly; name@digest deletes the
// image whole (removeByID), which its other names refuse. RemoveImage's
// checks for containers cannot fail here and are left out.
func (r *removal) removeName(id digest.Digest, full string) error {
	ref, err := store.ParseRef(full)
	if err != nil {
		return err
	}
	img := r.f.image(id)
	if _, isDigest := ref.(reference.Digested); isDigest {
		if len(img.Refs) <= 1 {
			for _, name := range img.Refs {
				r.untag(id, name)
				r.records = append(r.records, RemoveRecord{Untagged: store.Familiar(name)})
			}
		}
		return r.delete(id, false, true, false)
	}
	r.untag(id, ref.String())
	r.records = append(r.records, RemoveRecord{Untagged: reference.FamiliarString(ref)})
	if len(img.Refs) > 1 {
		return nil
	}
	return r.delete(id, false, true, true)
}

// positions is a min-heap of listing positions.
type positions []int

func (h positions) Len() int           { return len(h) }
func (h positions) Less(i, j int) bool { return h[i] < h[j] }
func (h positions) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *positions) Push(x any)        { *h = append(*h, x.(int)) }
func (h *positions) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
