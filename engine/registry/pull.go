package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/berthkit/berth/trace"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PullOptions configure Client.Pull.
type PullOptions struct {
	// Platform picks the image of a multi-platform index ("linux/amd64",
	// "linux/arm64/v8"); empty means linux/<host architecture>.
	Platform string
	// Progress receives Docker's pull output: live bars when it is a
	// terminal, plain lines otherwise. Nil is silent.
	Progress io.Writer
	// Quiet prints nothing (for `pull -q`, whose CLI prints the name).
	Quiet bool
	// Emit receives the pull's trace events; nil drops them.
	Emit func(trace.Event)
}

func (o PullOptions) emit() func(trace.Event) { return emitter(o.Emit) }

// emitter returns fn, or a function that drops events when fn is nil.
func emitter(fn func(trace.Event)) func(trace.Event) {
	if fn == nil {
		return func(trace.Event) {}
	}
	return fn
}

// puller is one pull in progress.
type puller struct {
	c    *Client
	s    *store.Store
	emit func(trace.Event)
}

// interrupted returns ctx's error wrapped for the user.
func interrupted(ctx context.Context) error {
	return fmt.Errorf("interrupted: %w", ctx.Err())
}

// maxConcurrentDownloads is Docker's default (max-concurrent-downloads).
const maxConcurrentDownloads = 3

// Pull fetches an image from its registry into the store, as `docker pull`:
// a multi-platform index resolves to one platform, every blob's digest is
// checked while it streams (and every layer's diff ID against the config),
// layers already stored are not fetched again, the others download in
// parallel. The registry's manifest and config are kept byte for byte, so
// the image ID and digest are the ones Docker shows. The name is tagged
// only once every blob is stored: an interrupted pull leaves no name
// pointing at a partial image, and the next pull reuses the blobs it
// completed.
func (c *Client) Pull(ctx context.Context, s *store.Store, name string, opts PullOptions) (img *store.Image, err error) {
	p := &puller{c: c, s: s, emit: opts.emit()}
	start := time.Now()
	ref, err := store.ParseRef(name)
	if err != nil {
		return nil, err
	}
	familiar := reference.FamiliarString(ref)
	info := &trace.PullInfo{Ref: familiar}
	p.emit(trace.Event{Type: trace.PullStart, Pull: &trace.PullInfo{Ref: familiar}})
	defer func() {
		info.DurationMS = time.Since(start).Milliseconds()
		if err != nil {
			info.Error = err.Error()
		}
		p.emit(trace.Event{Type: trace.PullEnd, Pull: info})
	}()

	platform, err := ParsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	out := opts.Progress
	if opts.Quiet {
		out = nil
	}
	progress := NewProgress(out)
	defer progress.Close()
	sess, top, manifest, err := p.resolve(ctx, ref, platform, progress)
	if err != nil {
		return nil, err
	}
	repoDigest := ref.Name() + "@" + top.Digest.String()
	info.Digest = top.Digest.String()
	m, err := store.DecodeManifest(manifest.Data)
	if err != nil {
		return nil, refused("manifest", manifest.Digest, sess, err)
	}
	if err := checkForeign(m, familiar); err != nil {
		return nil, err
	}
	checkPlatform := platformCheck(opts.Platform != "" && !top.IsIndex(), platform, familiar)
	if cur := p.upToDate(ref, manifest.Digest, repoDigest); cur != nil {
		if err := checkPlatform(cur.Config); err != nil {
			return nil, err
		}
		info.Image, info.UpToDate = cur.ID.String(), true
		progress.Line("Digest: %s", top.Digest)
		progress.Line("Status: Image is up to date for %s", familiar)
		return cur, nil
	}
	img, err = p.fetch(ctx, sess, ref, m, manifest, repoDigest, checkPlatform, progress, info)
	if err != nil {
		return nil, err
	}
	info.Image = img.ID.String()
	progress.Line("Digest: %s", top.Digest)
	progress.Line("Status: Downloaded newer image for %s", familiar)
	return img, nil
}

// fetch stores the image config and every missing layer, then lists the
// image under ref. The blobs go in unsynced (IngestBlob in a store batch):
// one syncfs before ImportManifest writes index.json makes them all
// durable, instead of an fsync per blob and per rename (docs/store.md).
func (p *puller) fetch(ctx context.Context, sess *Session, ref reference.Named, m ocispec.Manifest, manifest *Manifest, repoDigest string, checkPlatform func(ocispec.Image) error, progress Progress, info *trace.PullInfo) (img *store.Image, err error) {
	endBatch := p.s.BeginBatch()
	defer func() {
		if endErr := endBatch(); err == nil && endErr != nil {
			img, err = nil, endErr
		}
	}()
	familiar := reference.FamiliarString(ref)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := p.startConfig(ctx, cancel, sess, m, familiar, checkPlatform)
	sizes, err := p.pullLayers(ctx, sess, m.Layers, cfg, progress, info)
	if err != nil {
		cancel() // a failed layer: the config is of no use either
	}
	// The config's goroutine ends before the batch does. Its own failure
	// (a refused config, another platform) is the one to report: it
	// cancelled the downloads. One that only followed a cancel is not.
	<-cfg.done
	info.Bytes += cfg.fetched
	if cfg.err != nil && (err == nil || !cfg.afterCancel) {
		return nil, cfg.err
	}
	if err != nil {
		return nil, err
	}
	crashpoint.Hit("pull.layers-stored")
	img, err = p.s.ImportManifest(manifest.Data, store.ImportOptions{
		MediaType: manifest.MediaType, Ref: ref.String(), RepoDigest: repoDigest, LayerSizes: sizes,
	})
	if err != nil {
		return nil, fmt.Errorf("store pulled image %s: %w", familiar, err)
	}
	return img, nil
}

// resolve finds what ref names in its registry: the top manifest (an
// index or an image) and the image manifest for platform.
func (p *puller) resolve(ctx context.Context, ref reference.Named, platform Platform, progress Progress) (sess *Session, top, manifest *Manifest, err error) {
	tagOrDigest := ""
	switch r := ref.(type) {
	case reference.Digested:
		tagOrDigest = r.Digest().String()
	case reference.Tagged:
		tagOrDigest = r.Tag()
	}
	repo, err := p.c.Repository(ref.Name())
	if err != nil {
		return nil, nil, nil, err
	}
	sess, top, err = p.resolveManifest(ctx, repo, tagOrDigest, reference.FamiliarString(ref))
	if err != nil {
		return nil, nil, nil, err
	}
	progress.Line("%s: Pulling from %s", tagOrDigest, reference.Path(ref))
	if !top.IsIndex() {
		return sess, top, top, nil
	}
	desc, err := SelectManifest(top.Data, platform)
	if err != nil {
		return nil, nil, nil, err
	}
	manifest, err = p.platformManifest(ctx, sess, desc)
	if err != nil {
		return nil, nil, nil, err
	}
	return sess, top, manifest, nil
}

// platformCheck returns the check of an image's platform against the asked
// one. An image that is not an index is what it is: --platform can only
// check it (when asked, then; an index was resolved for it already).
func platformCheck(asked bool, platform Platform, familiar string) func(ocispec.Image) error {
	return func(cfg ocispec.Image) error {
		if !asked {
			return nil
		}
		got := Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
		if !platform.Matches(got) {
			return fmt.Errorf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s", familiar, platform, got)
		}
		return nil
	}
}

// checkForeign refuses images with foreign (non-distributable) layers.
func checkForeign(m ocispec.Manifest, familiar string) error {
	for _, l := range m.Layers {
		if len(l.URLs) > 0 || l.MediaType == store.MediaTypeDockerForeignLayer || strings.Contains(l.MediaType, "nondistributable") {
			return &Error{Kind: ErrUnsupported, Msg: fmt.Sprintf("%s has foreign layers (a Windows image?): berth pulls Linux images only", familiar)}
		}
	}
	return nil
}

// upToDate returns the stored image when the name already points at this
// very manifest, recording the repo digest if it is new; nil otherwise.
func (p *puller) upToDate(ref reference.Named, manifest digest.Digest, repoDigest string) *store.Image {
	cur, err := p.s.Image(ref.String())
	if err != nil || cur.ManifestDigest != manifest {
		return nil
	}
	if rds, _ := p.s.RepoDigests(cur.ManifestDigest); !contains(rds, repoDigest) {
		// Written only when new: an index write costs an fsync.
		_ = p.s.SetRepoDigest(ref.String(), repoDigest)
	}
	return cur
}

// imageConfig fetches and decodes the image config, which must name a
// diff ID for every layer of the manifest. It also returns how many bytes
// it fetched (0 when the store had the config).
func (p *puller) imageConfig(ctx context.Context, sess *Session, m ocispec.Manifest, familiar string) (ocispec.Image, int64, error) {
	cfgBytes, fetched, err := p.fetchConfig(ctx, sess, m.Config)
	if err != nil {
		return ocispec.Image{}, 0, err
	}
	cfg, err := store.DecodeConfig(cfgBytes)
	if err != nil {
		return ocispec.Image{}, fetched, refused("image config", m.Config.Digest, sess, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return ocispec.Image{}, fetched, fmt.Errorf("image %s is damaged: its manifest has %d layers and its config %d diff IDs", familiar, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	return cfg, fetched, nil
}

// resolveManifest fetches the manifest the tag or digest names, trying
// Docker Hub's mirrors first. A mirror that fails for any reason is passed
// over, as Docker does; the repository's own registry has the last word.
func (p *puller) resolveManifest(ctx context.Context, repo name.Repository, tagOrDigest, familiar string) (*Session, *Manifest, error) {
	endpoints := p.c.Endpoints(repo)
	var mirrorNotes []string
	for i, ep := range endpoints {
		last := i == len(endpoints)-1
		sess, err := p.c.Open(ctx, ep, Pull)
		if err == nil {
			var m *Manifest
			m, err = sess.Manifest(ctx, tagOrDigest)
			if err == nil {
				return sess, m, nil
			}
		}
		if ctx.Err() != nil {
			return nil, nil, interrupted(ctx)
		}
		if !last {
			p.emit(trace.Event{Type: trace.Message, Message: &trace.MessageInfo{Level: "info",
				Text: fmt.Sprintf("mirror %s could not serve %s (%v); trying the next source", ep.RegistryStr(), familiar, err)}})
			mirrorNotes = append(mirrorNotes, fmt.Sprintf("mirror %s: %v", ep.RegistryStr(), err))
			continue
		}
		re := &Error{Kind: ErrRegistry, Err: err, Msg: err.Error()}
		errors.As(err, &re)
		if errors.Is(err, ErrNotFound) {
			re = &Error{Kind: ErrNotFound, Err: re.Err, Status: re.Status,
				Msg: fmt.Sprintf("manifest for %s not found: %s", familiar, re.Msg)}
		}
		if len(mirrorNotes) == 0 {
			if re.Kind == ErrRegistry && re.Err == err {
				return nil, nil, err
			}
			return nil, nil, re
		}
		// Say why the mirrors did not serve either: in a room without
		// internet the mirror's answer is the one that matters.
		return nil, nil, &Error{Kind: re.Kind, Err: re.Err, Status: re.Status,
			Msg: re.Msg + " (tried first: " + strings.Join(mirrorNotes, "; ") + ")"}
	}
	return nil, nil, fmt.Errorf("no registry to pull %s from", familiar)
}

// platformManifest reads the manifest an index chose, from the store when a
// previous pull kept it.
func (p *puller) platformManifest(ctx context.Context, sess *Session, desc ocispec.Descriptor) (*Manifest, error) {
	if data, err := p.s.ReadBlob(desc.Digest); err == nil {
		return &Manifest{Data: data, Digest: desc.Digest, MediaType: ManifestMediaType(desc.MediaType, data)}, nil
	}
	m, err := sess.Manifest(ctx, desc.Digest.String())
	if err != nil {
		return nil, err
	}
	if m.IsIndex() {
		return nil, &Error{Kind: ErrUnsupported, Msg: fmt.Sprintf("index entry %s is itself an index: berth does not follow nested indexes", desc.Digest)}
	}
	return m, nil
}

// fetchConfig returns the image config, fetched and stored unless present.
func (p *puller) fetchConfig(ctx context.Context, sess *Session, desc ocispec.Descriptor) ([]byte, int64, error) {
	start := time.Now()
	reused := p.s.HasBlob(desc.Digest)
	var fetched int64
	if !reused {
		body, _, err := sess.Blob(ctx, desc.Digest)
		if err != nil {
			return nil, 0, fmt.Errorf("image config %s: %w", desc.Digest, err)
		}
		// DecodeManifest bounded desc.Size by store.MaxConfigSize, and
		// IngestBlob reads no more than one byte past it.
		_, _, err = p.s.IngestBlob(body, desc.Digest, desc.Size)
		body.Close()
		if err != nil {
			return nil, 0, verifyError("image config", desc.Digest, sess, err)
		}
		fetched = desc.Size
	}
	p.emit(trace.Event{Type: trace.PullBlob, Blob: &trace.BlobInfo{
		Digest: desc.Digest.String(), MediaType: desc.MediaType, Bytes: desc.Size, Reused: reused,
		DurationMS: time.Since(start).Milliseconds(),
	}})
	data, err := p.s.ReadBlob(desc.Digest)
	return data, fetched, err
}

// refused words a manifest, index or config Berth will not read.
func refused(what string, d digest.Digest, sess *Session, err error) error {
	return &Error{Kind: ErrInvalid, Err: err,
		Msg: fmt.Sprintf("%s %s from %s is refused: %v; nothing was tagged", what, d, sess.Host(), err)}
}

// verifyError words a failed ingest: a digest mismatch in Docker's words.
func verifyError(what string, d digest.Digest, sess *Session, err error) error {
	if errors.Is(err, store.ErrInvalidDigest) {
		return &Error{Kind: ErrDigestMismatch, Err: err,
			Msg: fmt.Sprintf("filesystem layer verification failed for digest %s: the %s %s sent does not match it (%v); nothing was stored", d, what, sess.Host(), err)}
	}
	return fmt.Errorf("%s %s from %s: %w", what, d, sess.Host(), err)
}

// layerResult is what downloading one layer found.
type layerResult struct {
	size int64 // uncompressed bytes, -1 when not counted (already stored)
	err  error // the layer's diff ID is checked where it is computed
	done chan struct{}
}

// pullLayers stores every layer blob that is missing, in parallel, and
// returns the uncompressed size of each layer.
func (p *puller) pullLayers(ctx context.Context, sess *Session, layers []ocispec.Descriptor, cfg *pendingConfig, progress Progress, info *trace.PullInfo) ([]int64, error) {
	results, todo, known, err := p.planLayers(ctx, layers, cfg, progress)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	p.startDownloads(ctx, cancel, &wg, sess, layers, cfg, todo, results, progress, info)

	// "Pull complete" in layer order, as Docker's extraction prints it.
	var firstErr error
	for i, res := range results {
		<-res.done
		if res.err != nil {
			firstErr = firstCause(firstErr, res.err)
			continue
		}
		if res.size < 0 || firstErr != nil {
			continue
		}
		progress.Done(layers[i].Digest.Encoded()[:12], "Pull complete")
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for i, res := range results {
		if res.size >= 0 {
			known[layers[i].Digest] = res.size
		}
	}
	return LayerSizes(p.s, layers, known)
}

// planLayers finds which layers the store already has (done at once) and
// which to download (todo), and the sizes it counted on the way.
func (p *puller) planLayers(ctx context.Context, layers []ocispec.Descriptor, cfg *pendingConfig, progress Progress) ([]*layerResult, []int, map[digest.Digest]int64, error) {
	// Whether a stored blob serves depends on the config's diff IDs: wait
	// for it only when there is one.
	diffIDs := make([]digest.Digest, len(layers))
	if p.anyStored(layers) {
		var err error
		if diffIDs, err = cfg.diffIDs(ctx); err != nil {
			return nil, nil, nil, err
		}
	}
	results := make([]*layerResult, len(layers))
	var todo []int
	vouched := vouchedDiffIDs(p.s)
	known := map[digest.Digest]int64{}
	for i, l := range layers {
		results[i] = &layerResult{size: -1, done: make(chan struct{})}
		id := l.Digest.Encoded()[:12]
		reuse, size, err := p.reusable(l, diffIDs[i], vouched)
		if err != nil {
			return nil, nil, nil, err
		}
		if reuse {
			if size >= 0 {
				known[l.Digest] = size
			}
			progress.Done(id, "Already exists")
			close(results[i].done)
			p.emit(trace.Event{Type: trace.PullBlob, Blob: &trace.BlobInfo{
				Digest: l.Digest.String(), MediaType: l.MediaType, Bytes: l.Size, Reused: true}})
			continue
		}
		progress.Status(id, "Pulling fs layer")
		todo = append(todo, i)
	}
	for n, i := range todo {
		if n >= maxConcurrentDownloads {
			progress.Status(layers[i].Digest.Encoded()[:12], "Waiting")
		}
	}
	return results, todo, known, nil
}

// startDownloads downloads the layers todo names, maxConcurrentDownloads
// at a time and in todo's order (bottom first, as Docker queues them, so
// the layers shown "Waiting" are the ones that wait), each closing its
// result's done when finished. The first failure cancels the others.
func (p *puller) startDownloads(ctx context.Context, cancel func(), wg *sync.WaitGroup, sess *Session, layers []ocispec.Descriptor, cfg *pendingConfig, todo []int, results []*layerResult, progress Progress, info *trace.PullInfo) {
	var mu sync.Mutex
	next := make(chan int, len(todo))
	for _, i := range todo {
		next <- i
	}
	close(next)
	for range min(maxConcurrentDownloads, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res := results[i]
				if ctx.Err() != nil {
					res.err = interrupted(ctx)
					close(res.done)
					continue
				}
				start := time.Now()
				res.size, res.err = p.downloadLayer(ctx, sess, layers[i], cfg.diffID(ctx, i), progress)
				if res.err != nil {
					cancel()
					close(res.done)
					continue
				}
				mu.Lock()
				info.Bytes += layers[i].Size
				mu.Unlock()
				p.emit(trace.Event{Type: trace.PullBlob, Blob: &trace.BlobInfo{
					Digest: layers[i].Digest.String(), MediaType: layers[i].MediaType, Bytes: layers[i].Size,
					DurationMS: time.Since(start).Milliseconds()}})
				close(res.done)
			}
		}()
	}
}

// reusable decides whether a layer blob already in the store serves this
// pull. A blob a listed image pairs with the same diff ID was verified when
// that image came in. Any other stored copy (left by an interrupted pull or
// a deleted image) is verified now: a copy whose bytes do not match its
// digest is removed and fetched again; one whose content is not the diff ID
// the config names refuses the pull.
//
// It returns the layer's uncompressed size when it had to count it, else -1.
func (p *puller) reusable(l ocispec.Descriptor, diffID digest.Digest, vouched map[digest.Digest]digest.Digest) (bool, int64, error) {
	size, err := p.s.BlobSize(l.Digest)
	if err != nil || size != l.Size || diffID == "" {
		// No diff ID yet: the blob was stored after planLayers looked, and
		// the download checks the stored copy once the config is in.
		return false, -1, nil
	}
	if vouched[l.Digest] == diffID {
		return true, -1, nil
	}
	blobDigest, n, gotDiffID, err := verifyStoredLayer(p.s, l)
	if blobDigest != "" && blobDigest != l.Digest {
		// A stored blob that does not match its name: replace it.
		return false, -1, p.s.DeleteBlob(l.Digest)
	}
	if err != nil {
		return false, -1, fmt.Errorf("layer %s (already stored) is refused: %w; nothing was tagged", l.Digest, err)
	}
	if gotDiffID != diffID {
		return false, -1, diffIDError(l.Digest, "the store", gotDiffID, diffID)
	}
	return true, n, nil
}

// diffIDError says that a layer does not uncompress to the diff ID the
// image config names.
func diffIDError(blob digest.Digest, from string, got, want digest.Digest) error {
	return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf("layer %s from %s uncompresses to %s, but the image config says its diff ID is %s: the image is damaged (nothing was tagged)",
		blob, from, got, want)}
}

// downloadLayer streams one layer blob into the store and checks it on
// the way, all on one goroutine: the layer check (store.CheckLayer) reads
// the response body through an io.TeeReader that hands every byte it reads
// to a store.BlobWriter, which hashes it and writes it to a temporary
// file. The blob reaches the store only when its size, its digest and its
// diff ID (diffID, the config's) are right and it is a well-formed layer;
// otherwise nothing of it is left behind.
func (p *puller) downloadLayer(ctx context.Context, sess *Session, desc ocispec.Descriptor, diffID func() (digest.Digest, error), progress Progress) (int64, error) {
	id := desc.Digest.Encoded()[:12]
	if size, err := p.s.BlobSize(desc.Digest); err == nil && size == desc.Size {
		// Another process stored the blob first: check the stored copy.
		return storedLayer(p.s, desc, diffID)
	}
	body, _, err := sess.Blob(ctx, desc.Digest)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	defer body.Close()
	bw, err := p.s.NewBlobWriter(desc.Digest, desc.Size)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	defer bw.Abort()
	// One byte past the announced size is enough to refuse the blob
	// (BlobWriter.Write does), and the check reads no further.
	src := &progressReader{r: io.TeeReader(io.LimitReader(body, desc.Size+1), bw), total: desc.Size, report: func(done, total int64) {
		progress.Bytes(id, "Downloading", done, total)
	}}
	n, got, checkErr := store.CheckLayer(src, desc.MediaType)
	// Whatever follows the compressed stream (or the point where the check
	// stopped) still counts for the digest, which is judged first: a blob
	// that is not the one asked for is the registry's fault, whatever its
	// content.
	// A read or disk error (the first: an interrupted pull's later reads
	// say only that the connection is closed) is told from bytes past the
	// size, which the BlobWriter refused with ErrInvalidDigest and Verify
	// reports.
	_, _ = io.Copy(io.Discard, src)
	if src.err != nil && !errors.Is(src.err, store.ErrInvalidDigest) {
		return 0, verifyError("layer", desc.Digest, sess, src.err)
	}
	if _, err := bw.Verify(); err != nil {
		return 0, verifyError("layer", desc.Digest, sess, err)
	}
	progress.Status(id, "Verifying Checksum")
	progress.Status(id, "Download complete")
	if checkErr != nil {
		return 0, &Error{Kind: ErrInvalid, Err: checkErr,
			Msg: fmt.Sprintf("layer %s from %s is refused: %v; nothing was tagged", desc.Digest, sess.Host(), checkErr)}
	}
	want, err := diffID()
	if err != nil {
		return 0, err
	}
	if got != want {
		return 0, diffIDError(desc.Digest, sess.Host(), got, want)
	}
	if _, _, err := bw.Commit(); err != nil {
		return 0, verifyError("layer", desc.Digest, sess, err)
	}
	return n, nil
}

// storedLayer checks a layer blob another process stored while this pull
// ran, as one downloaded: digest, content and diff ID.
func storedLayer(s *store.Store, desc ocispec.Descriptor, diffID func() (digest.Digest, error)) (int64, error) {
	got, n, gotDiffID, err := verifyStoredLayer(s, desc)
	if err == nil && got != desc.Digest {
		err = fmt.Errorf("stored blob %s hashes to %s: %w", desc.Digest, got, store.ErrInvalidDigest)
	}
	if err != nil {
		return 0, err
	}
	want, err := diffID()
	if err == nil && gotDiffID != want {
		err = diffIDError(desc.Digest, "the store", gotDiffID, want)
	}
	return n, err
}

// progressReader reports bytes read, at most every 64 KiB step of progress,
// and keeps the first error other than io.EOF.
type progressReader struct {
	r            io.Reader
	done, total  int64
	lastReported int64
	report       func(done, total int64)
	err          error
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF && p.err == nil {
		p.err = err
	}
	p.done += int64(n)
	if p.done-p.lastReported >= 64<<10 || err == io.EOF {
		p.lastReported = p.done
		p.report(p.done, p.total)
	}
	return n, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
