package engine

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// ImageSummary is one row of `berth images`: an image under one of its
// names (or under none).
type ImageSummary struct {
	Image *store.ListedImage
	// Repository and Tag are the familiar name split in two ("busybox",
	// "latest"), or "<none>".
	Repository, Tag string
	// Digest is the digest a registry knows this repository's image by
	// (recorded at pull or push), empty when none is known, as Docker's
	// DIGEST column.
	Digest digest.Digest
	// Containers counts the containers created from the image.
	Containers int
	// Dangling: no name and no child image. Intermediate: no name, but a
	// child image (a build step); hidden unless ListImagesOptions.All.
	Dangling, Intermediate bool
}

// ListImagesOptions are `images`' flags.
type ListImagesOptions struct {
	// All includes intermediate images.
	All bool
	// Reference keeps only images whose name matches REPOSITORY[:TAG].
	Reference string
	// Filters are `--filter` values: dangling=true|false,
	// reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE.
	Filters []string
	// NoLabels: the caller shows no labels (the CLI's table), so the
	// images' labels are not read unless a label filter needs them.
	NoLabels bool
	// NoContainers: the caller shows no container counts (the CLI prints
	// "N/A", as Docker's does), so the container records are not read and
	// ImageSummary.Containers stays 0. At 10,000 containers that read was
	// a third of `berth images`' allocations.
	NoContainers bool
}

// imageFacts are the relations between images that several verbs need.
// A removal plans on them in memory (image_removal.go): images stays as
// read, the other fields follow the plan.
type imageFacts struct {
	images []*store.Image
	// children counts the listed images built on each image.
	children   map[digest.Digest]int
	containers []*store.Container
	// byImage indexes containers by image ID (built on first usedBy): one
	// scan of the containers per listing, not one per image.
	byImage map[digest.Digest][]*store.Container
	// byID, chainUsers and containerChains are the removal's (built on
	// first use; see image_removal.go).
	byID            map[digest.Digest]*store.Image
	chainUsers      map[digest.Digest]int
	containerChains map[digest.Digest]bool
}

// Images lists the store's images as Docker sees them: one per image ID,
// newest first, with the names and manifests of every manifest the store
// holds for that config (a pulled and a loaded copy are one image).
func (e *Engine) Images() ([]*store.Image, error) {
	images, err := e.Store.Images()
	if err != nil {
		return nil, err
	}
	return groupByID(images), nil
}

// groupByID merges the values of one config into one image, keeping the
// first (newest) one's manifest as ManifestDigest. The inputs are not
// changed; an image of one manifest (the usual case) is passed through
// rather than copied, so a listing of N images holds N values, not 2N.
func groupByID(images []*store.Image) []*store.Image {
	at := map[digest.Digest]int{}
	merged := map[digest.Digest]bool{}
	out := make([]*store.Image, 0, len(images))
	for _, img := range images {
		i, seen := at[img.ID]
		if !seen {
			at[img.ID] = len(out)
			out = append(out, img)
			continue
		}
		first := out[i]
		if !merged[img.ID] {
			first = copyImage(first)
			out[i] = first
			merged[img.ID] = true
		}
		first.Refs = append(first.Refs, img.Refs...)
		first.Manifests = append(first.Manifests, img.Manifests...)
		if first.Parent == "" {
			first.Parent = img.Parent
		}
	}
	for i, img := range out {
		if !sort.StringsAreSorted(img.Refs) {
			if !merged[img.ID] {
				img = copyImage(img)
				out[i] = img
			}
			sort.Strings(img.Refs)
		}
	}
	return out
}

// copyImage is a copy of img whose name and manifest lists can grow
// without changing img's.
func copyImage(img *store.Image) *store.Image {
	c := *img
	c.Refs = append([]string(nil), img.Refs...)
	c.Manifests = append([]digest.Digest(nil), img.Manifests...)
	return &c
}

func (e *Engine) imageFacts() (*imageFacts, error) {
	return e.imageFactsOf(e.Store.Images)
}

// removalFacts are the facts a removal decides on (rmi, image prune): its
// images hold only what deciding reads (store.ImagesForRemoval), so that
// pruning 10,000 images does not keep 10,000 whole configs.
func (e *Engine) removalFacts() (*imageFacts, error) {
	return e.imageFactsOf(e.Store.ImagesForRemoval)
}

func (e *Engine) imageFactsOf(list func() ([]*store.Image, error)) (*imageFacts, error) {
	listed, err := list()
	if err != nil {
		return nil, err
	}
	images := groupByID(listed)
	containers, err := e.Store.Containers()
	if err != nil {
		return nil, err
	}
	return newImageFacts(images, containers), nil
}

func newImageFacts(images []*store.Image, containers []*store.Container) *imageFacts {
	f := &imageFacts{images: images, children: map[digest.Digest]int{}, containers: containers}
	for _, img := range images {
		if img.Parent != "" {
			f.children[img.Parent]++
		}
	}
	return f
}

// usedBy returns the containers created from image id.
func (f *imageFacts) usedBy(id digest.Digest) []*store.Container {
	if f.byImage == nil {
		f.byImage = map[digest.Digest][]*store.Container{}
		for _, c := range f.containers {
			id := containerImageID(c)
			f.byImage[id] = append(f.byImage[id], c)
		}
	}
	return f.byImage[id]
}

func containerImageID(c *store.Container) digest.Digest {
	if strings.HasPrefix(c.Image, "sha256:") {
		return digest.Digest(c.Image)
	}
	return digest.NewDigestFromEncoded(digest.SHA256, c.Image)
}

func containerRunning(c *store.Container) bool {
	switch c.State.Status {
	case "running", "paused", "restarting":
		return true
	}
	return false
}

// ListImages lists images as `docker images` does: newest first, one row
// per name, untagged images as <none>, intermediate images only with All.
func (e *Engine) ListImages(ctx context.Context, opts ListImagesOptions) ([]ImageSummary, error) {
	images, children, counts, err := e.listingFacts(!opts.NoLabels || hasLabelFilter(opts.Filters), !opts.NoContainers)
	if err != nil {
		return nil, err
	}
	filter, err := e.parseImageFilters(opts.Filters)
	if err != nil {
		return nil, err
	}
	var repoFilter, tagFilter string
	if opts.Reference != "" {
		if _, err := store.ParseRef(opts.Reference); err != nil {
			return nil, err // Docker's wording
		}
		ref, err := reference.ParseNormalizedNamed(opts.Reference)
		if err != nil {
			return nil, err
		}
		repoFilter = ref.Name()
		if t, ok := ref.(reference.Tagged); ok {
			tagFilter = t.Tag()
		}
	}
	var out []ImageSummary
	for i, img := range images {
		images[i] = nil // each row holds its image; the list need not
		hasChildren := children[img.ID]
		untagged := len(img.Refs) == 0
		row := ImageSummary{
			Image: img, Containers: counts[img.ID],
			Dangling: untagged && !hasChildren, Intermediate: untagged && hasChildren,
		}
		if row.Intermediate && !opts.All && filter.dangling == nil {
			continue
		}
		if !filter.keepImage(img, row.Dangling) {
			continue
		}
		if untagged {
			if repoFilter != "" {
				continue
			}
			row.Repository, row.Tag = "<none>", "<none>"
			out = append(out, row)
			continue
		}
		for _, full := range img.Refs {
			ref, err := reference.ParseNormalizedNamed(full)
			if err != nil {
				continue
			}
			if repoFilter != "" && ref.Name() != repoFilter {
				continue
			}
			r := row
			r.Repository, r.Tag = store.SplitFamiliar(full)
			r.Digest = repoDigestOf(img, ref)
			if tagFilter != "" && r.Tag != tagFilter {
				continue
			}
			if !filter.keepRef(ref) {
				continue
			}
			out = append(out, r)
		}
	}
	return out, ctxErr(ctx)
}

type imageFilter struct {
	dangling  *bool
	refs      []string
	labels    []string
	before    *time.Time
	since     *time.Time
	anyRefSet bool
}

func (e *Engine) parseImageFilters(filters []string) (*imageFilter, error) {
	out := &imageFilter{}
	for _, spec := range filters {
		key, value, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		switch strings.ToLower(key) {
		case "dangling":
			switch strings.ToLower(value) {
			case "true", "1":
				t := true
				out.dangling = &t
			case "false", "0":
				f := false
				out.dangling = &f
			default:
				return nil, fmt.Errorf("invalid filter 'dangling=%s'", value)
			}
		case "reference":
			out.refs = append(out.refs, value)
			out.anyRefSet = true
		case "label":
			out.labels = append(out.labels, value)
		case "before", "since":
			img, err := e.Store.Image(value)
			if err != nil {
				return nil, err
			}
			created := img.Created()
			if key == "before" {
				out.before = &created
			} else {
				out.since = &created
			}
		default:
			return nil, fmt.Errorf("invalid filter '%s'", key)
		}
	}
	return out, nil
}

func (f *imageFilter) keepImage(img *store.ListedImage, dangling bool) bool {
	if f.dangling != nil && *f.dangling != dangling {
		return false
	}
	if f.dangling != nil && *f.dangling && len(img.Refs) > 0 {
		return false
	}
	if f.anyRefSet && len(img.Refs) == 0 {
		return false
	}
	for _, l := range f.labels {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := img.Labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	if f.before != nil && !img.Created().Before(*f.before) {
		return false
	}
	if f.since != nil && !img.Created().After(*f.since) {
		return false
	}
	return true
}

// keepRef applies reference=PATTERN filters to one name, matching the
// familiar name with and without its tag, as Docker does.
func (f *imageFilter) keepRef(ref reference.Named) bool {
	if len(f.refs) == 0 {
		return true
	}
	familiar := reference.FamiliarString(ref)
	name := reference.FamiliarName(ref)
	for _, pattern := range f.refs {
		if ok, _ := path.Match(pattern, familiar); ok {
			return true
		}
		if ok, _ := path.Match(pattern, name); ok {
			return true
		}
	}
	return false
}

// TagImage gives the image source the name target, moving the name from
// any image that had it, and reports it as a trace tag event.
func (e *Engine) TagImage(ctx context.Context, source, target string) (*store.Image, error) {
	tagged, err := store.ParseTag(target)
	if err != nil {
		return nil, err
	}
	img, err := e.Store.Image(source)
	if err != nil {
		return nil, err
	}
	if _, err := e.Store.Tag(img.ID, tagged.String()); err != nil {
		return nil, fmt.Errorf("tag %s as %s: %w", img.ShortID(), reference.FamiliarString(tagged), err)
	}
	e.emitTag(img.ID, tagged.String())
	return img, ctxErr(ctx)
}

func (e *Engine) emitTag(id digest.Digest, full string) {
	e.Emit(trace.Event{Type: trace.Tag, Tag: &trace.TagInfo{Image: id.String(), Ref: store.Familiar(full)}})
}

// RemoveImageOptions are `rmi`'s flags.
type RemoveImageOptions struct {
	// Force removes an image with several names when given by ID, and one
	// that stopped containers use.
	Force bool
	// NoPrune keeps untagged parents.
	NoPrune bool
}

// RemoveRecord is one line of `rmi`'s output: a name removed ("Untagged:")
// or an image or layer deleted ("Deleted:").
type RemoveRecord struct {
	Untagged string // familiar name
	Deleted  string // sha256:... of an image or of a layer's chain ID
	// Size is the uncompressed size of a deleted layer (0 for images).
	Size int64
}

// deleteConflict is Docker's image delete conflict.
type deleteConflict struct {
	id      digest.Digest
	hard    bool
	used    bool // a container uses the image
	message string
}

func (c *deleteConflict) Error() string {
	force := "must be forced"
	if c.hard {
		force = "cannot be forced"
	}
	return fmt.Sprintf("conflict: unable to delete %s (%s) - %s", c.id.Encoded()[:12], force, c.message)
}

func (c *deleteConflict) Is(target error) bool { return target == store.ErrConflict }

func (c *deleteConflict) ErrClass() errdefs.Class { return errdefs.Conflict }

// conflict kinds, as Docker's daemon names them.
const (
	conflictDependentChild = 1 << iota
	conflictRunningContainer
	conflictActiveReference
	conflictStoppedContainer
	conflictHard = conflictDependentChild | conflictRunningContainer
	conflictSoft = conflictActiveReference | conflictStoppedContainer
)

// RemoveImage removes a name, or an image and its names, exactly as `docker
// rmi` decides: a name is untagged (the image goes only with its last name,
// and not while a container uses it unless forced); an ID removes the image
// if it has at most one name and nothing depends on it; an image with child
// images can never be removed. Removing an image also removes its untagged
// parents that nothing else needs, unless NoPrune. Blobs and unpacked
// layers nobody needs are freed. Errors about conflicts wrap store.ErrConflict.
func (e *Engine) RemoveImage(ctx context.Context, name string, opts RemoveImageOptions) ([]RemoveRecord, error) {
	if records, ok, err := e.untagOneOfMany(ctx, name); ok {
		return records, err
	}
	f, err := e.removalFacts()
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
			return e.removeByID(ctx, f, img, opts)
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
		return e.removeByID(ctx, f, img, opts)
	}
	more, err := e.deleteImage(ctx, img.ID, opts.Force, !opts.NoPrune, removedRef)
	return append(records, more...), err
}

// untagOneOfMany is rmi of one of an image's names when the image has
// others: only the name goes, whatever containers or children the image
// has, so the facts of every image (each manifest and config in the store)
// are not needed, only the image and its names, which the index answers.
// ok is false for any other case, which RemoveImage decides as before.
func (e *Engine) untagOneOfMany(ctx context.Context, name string) (records []RemoveRecord, ok bool, err error) {
	ref, err := store.ParseRef(name)
	if err != nil {
		return nil, false, nil
	}
	if _, isDigest := ref.(reference.Digested); isDigest {
		return nil, false, nil
	}
	img, err := e.Store.Image(name)
	if err != nil || isImageIDPrefix(img.ID, name) || len(img.Refs) < 2 || !slices.Contains(img.Refs, ref.String()) {
		return nil, false, nil
	}
	if _, err := e.Store.Untag(ref.String()); err != nil {
		return nil, true, err
	}
	return []RemoveRecord{{Untagged: reference.FamiliarString(ref)}}, true, ctxErr(ctx)
}

func (e *Engine) removeByID(ctx context.Context, f *imageFacts, img *store.Image, opts RemoveImageOptions) ([]RemoveRecord, error) {
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
	more, err := e.deleteImage(ctx, img.ID, opts.Force, !opts.NoPrune, false)
	return append(records, more...), err
}

func isImageIDPrefix(id digest.Digest, name string) bool {
	return strings.HasPrefix(id.String(), name) || strings.HasPrefix(id.Encoded(), name)
}

// conflict is Docker's checkImageDeleteConflict.
func (f *imageFacts) conflict(img *store.Image, mask int) *deleteConflict {
	if mask&conflictDependentChild != 0 && f.children[img.ID] > 0 {
		return &deleteConflict{id: img.ID, hard: true, message: "image has dependent child images"}
	}
	users := f.usedBy(img.ID)
	if mask&conflictRunningContainer != 0 {
		for _, c := range users {
			if containerRunning(c) {
				return &deleteConflict{id: img.ID, hard: true, used: true,
					message: "image is being used by running container " + c.ShortID()}
			}
		}
	}
	if mask&conflictActiveReference != 0 && len(img.Refs) > 0 {
		return &deleteConflict{id: img.ID, message: "image is referenced in multiple repositories"}
	}
	if mask&conflictStoppedContainer != 0 {
		for _, c := range users {
			if !containerRunning(c) {
				return &deleteConflict{id: img.ID, used: true,
					message: "image is being used by stopped container " + c.ShortID()}
			}
		}
	}
	return nil
}

// layerSizes returns the uncompressed size of each layer when the store
// records it, the compressed size otherwise.
func (f *imageFacts) layerSizes(img *store.Image) []int64 {
	if sizes, ok := img.LayerSizes(); ok {
		return sizes
	}
	sizes := make([]int64, len(img.Manifest.Layers))
	for i, l := range img.Manifest.Layers {
		sizes[i] = l.Size
	}
	return sizes
}

// notFound is an error worded as Docker words it that matches store.ErrNotFound.
type notFound struct{ msg string }

func (e *notFound) Error() string           { return e.msg }
func (e *notFound) Is(target error) bool    { return target == store.ErrNotFound }
func (e *notFound) ErrClass() errdefs.Class { return errdefs.NotFound }

// DiskUsage is `system df`'s table.
type DiskUsage struct {
	Images, ActiveImages                  int
	ImagesSize, ImagesReclaimable         int64
	Containers, RunningContainers         int
	ContainersSize, ContainersReclaimable int64
	BuildCacheEntries                     int
	BuildCacheSize, BuildCacheReclaimable int64
	LayerBlobsSize, UnpackedLayersSize    int64
}

// DiskUsage adds up what images and containers use, as `docker system df`:
// image sizes count each layer once (uncompressed), reclaimable is what
// no container's image needs.
func (e *Engine) DiskUsage(ctx context.Context) (*DiskUsage, error) {
	f, err := e.imageFacts()
	if err != nil {
		return nil, err
	}
	du := &DiskUsage{Images: len(f.images), Containers: len(f.containers)}
	layerSize := map[digest.Digest]int64{}
	activeLayers := map[digest.Digest]bool{}
	for _, img := range f.images {
		sizes := f.layerSizes(img)
		active := len(f.usedBy(img.ID)) > 0
		if active {
			du.ActiveImages++
		}
		for i, chain := range img.ChainIDs() {
			layerSize[chain] = sizes[i]
			if active {
				activeLayers[chain] = true
			}
		}
	}
	for chain, n := range layerSize {
		du.ImagesSize += n
		if !activeLayers[chain] {
			du.ImagesReclaimable += n
		}
	}
	for _, c := range f.containers {
		n := treeSize(e.Store.ContainerDir(c.ID))
		du.ContainersSize += n
		if containerRunning(c) {
			du.RunningContainers++
		} else {
			du.ContainersReclaimable += n
		}
	}
	du.BuildCacheEntries = e.Store.CacheEntryCount()
	du.LayerBlobsSize = treeSize(e.Store.Root() + "/blobs")
	du.UnpackedLayersSize = treeSize(e.Store.LayersDir())
	return du, ctxErr(ctx)
}

// sortedRefs returns the image's names in familiar form, sorted.
func sortedRefs(img *store.Image) []string {
	out := make([]string, 0, len(img.Refs))
	for _, r := range img.Refs {
		out = append(out, store.Familiar(r))
	}
	sort.Strings(out)
	return out
}

// ImageUsage is one image in `system df -v`: its size split into what it
// shares with other images (layers they have too) and what only it has.
type ImageUsage struct {
	Image          *store.Image
	Shared, Unique int64
	Containers     int
}

// ImagesUsage lists every image (one per ID, newest first) with its shared
// and unique sizes and how many containers use it, as Docker's disk usage.
func (e *Engine) ImagesUsage(ctx context.Context) ([]ImageUsage, error) {
	f, err := e.imageFacts()
	if err != nil {
		return nil, err
	}
	holders := map[digest.Digest]int{}
	for _, img := range f.images {
		for _, chain := range img.ChainIDs() {
			holders[chain]++
		}
	}
	out := make([]ImageUsage, 0, len(f.images))
	for _, img := range f.images {
		u := ImageUsage{Image: img, Containers: len(f.usedBy(img.ID))}
		sizes := f.layerSizes(img)
		for i, chain := range img.ChainIDs() {
			if holders[chain] > 1 {
				u.Shared += sizes[i]
			} else {
				u.Unique += sizes[i]
			}
		}
		out = append(out, u)
	}
	return out, ctxErr(ctx)
}
