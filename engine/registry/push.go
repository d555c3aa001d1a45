package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxConcurrentUploads is Docker's default (max-concurrent-uploads).
const maxConcurrentUploads = 5

// PushOptions configure Client.Push.
type PushOptions struct {
	// Progress receives Docker's push output; nil is silent.
	Progress io.Writer
	// Quiet prints nothing (for `push -q`, whose CLI prints the name).
	Quiet bool
	// Emit receives the push's trace events; nil drops them.
	Emit func(trace.Event)
	// Compression, when not empty ("gzip", "zstd"), is the compression
	// every layer is pushed in: layers stored otherwise are recompressed
	// for the push (convert.go). Empty pushes the blobs as stored.
	Compression string
}

// PushResult says what a push stored in the registry.
type PushResult struct {
	Ref    string        // full reference pushed
	Digest digest.Digest // the manifest's digest in the registry
	Size   int64         // the manifest's size
}

// pusher is one push in progress.
type pusher struct {
	s        *store.Store
	sess     *Session
	img      *store.Image
	mounts   map[digest.Digest][]string
	progress Progress
	emit     func(trace.Event)
	// convert is the asked compression; nil pushes the blobs as stored.
	convert *layer.Compression
	// converting lets one layer be recompressed at a time: the compressor
	// already uses every core, and five at once would hold five windows.
	converting chan struct{}
}

// Push sends the image the store lists under name (REPO[:TAG], the tag
// defaulting to latest) to its registry: layers top first, each checked
// with a HEAD first ("Layer already exists"), mounted from another
// repository of the same registry that has it when possible ("Mounted
// from"), uploaded otherwise ("Pushed"); then the config and the manifest,
// byte for byte as stored unless opts.Compression made new layers. The
// registry's name@digest is recorded in the store when the manifest is the
// stored one.
func (c *Client) Push(ctx context.Context, s *store.Store, name string, opts PushOptions) (res PushResult, err error) {
	emit := emitter(opts.Emit)
	start := time.Now()
	ref, err := store.ParseRef(name)
	if err != nil {
		return res, err
	}
	if _, ok := ref.(reference.Digested); ok {
		return res, fmt.Errorf("cannot push a digest reference %q: push a tag (REPO[:TAG])", name)
	}
	tagged := ref.(reference.NamedTagged)
	familiar := reference.FamiliarString(ref)
	info := &trace.PullInfo{Ref: familiar}
	defer func() {
		info.DurationMS = time.Since(start).Milliseconds()
		if err != nil {
			info.Error = err.Error()
		}
		emit(trace.Event{Type: trace.PushEnd, Pull: info})
	}()
	p := &pusher{s: s, emit: emit}
	if opts.Compression != "" {
		comp, err := layer.ParseCompression(opts.Compression)
		if err != nil {
			return res, err
		}
		p.convert, p.converting = &comp, make(chan struct{}, 1)
	}

	out := opts.Progress
	if opts.Quiet {
		out = nil
	}
	progress := NewProgress(out)
	defer progress.Close()
	p.progress = progress
	if p.img, err = findExact(s, ref.String()); err != nil {
		return res, fmt.Errorf("An image does not exist locally with the tag: %s", reference.FamiliarName(ref))
	}
	info.Image = p.img.ID.String()
	progress.Line("The push refers to repository [%s]", ref.Name())

	repo, err := c.Repository(ref.Name())
	if err != nil {
		return res, err
	}
	mounts, mountRepos := mountCandidates(s, repo, c)
	p.mounts = mounts
	if p.sess, err = c.Open(ctx, repo, Push, mountRepos...); err != nil {
		return res, err
	}
	data, mediaType, err := p.pushBlobs(ctx, info)
	if err != nil {
		return res, err
	}
	if err := p.sess.PutManifest(ctx, tagged.Tag(), mediaType, data); err != nil {
		return res, fmt.Errorf("push manifest of %s: %w", familiar, err)
	}
	progress.Close()
	d := digest.FromBytes(data)
	if out != nil {
		fmt.Fprintf(out, "%s: digest: %s size: %d\n", tagged.Tag(), d, len(data))
	}
	info.Digest = d.String()
	if d == p.img.ManifestDigest {
		_ = s.SetRepoDigest(ref.String(), ref.Name()+"@"+d.String())
	}
	return PushResult{Ref: ref.String(), Digest: d, Size: int64(len(data))}, nil
}

// pushBlobs makes sure the registry has every layer and the config, and
// returns the manifest to put: the stored one, or one made for the layers
// recompressed on the way. The config goes up while the layers do, beside
// the maxConcurrentUploads of them (Docker sends it after the last layer:
// it is small, the manifest only needs it to be there, and waiting for it
// after the layers added three round trips to every push).
func (p *pusher) pushBlobs(ctx context.Context, info *trace.PullInfo) ([]byte, string, error) {
	data, mediaType, err := p.s.ManifestBytes(p.img)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		configSent int64
		configErr  error
		configDone = make(chan struct{})
	)
	go func() {
		defer close(configDone)
		configSent, configErr = pushBlob(ctx, p.s, p.sess, p.img.Manifest.Config, blobSource{}, nil, p.emit)
		if configErr != nil {
			cancel()
		}
	}()
	pushed, bytes, err := p.pushLayers(ctx)
	<-configDone
	if err = firstCause(err, configErr); err != nil {
		return nil, "", err
	}
	info.Bytes += bytes + configSent
	for i, l := range pushed {
		if l.Digest != p.img.Manifest.Layers[i].Digest {
			return convertedManifest(data, mediaType, pushed, *p.convert)
		}
	}
	return data, mediaType, nil
}

// pushLayers sends the layers, top first, maxConcurrentUploads at a time,
// and returns their descriptors as pushed and the bytes sent. The layers
// start in that order, so the ones shown "Waiting" are the ones that wait.
func (p *pusher) pushLayers(ctx context.Context) ([]ocispec.Descriptor, int64, error) {
	layers := p.img.Manifest.Layers
	for i := len(layers) - 1; i >= 0; i-- {
		p.progress.Status(layers[i].Digest.Encoded()[:12], "Preparing")
	}
	if len(layers) > maxConcurrentUploads {
		for i := len(layers) - 1 - maxConcurrentUploads; i >= 0; i-- {
			p.progress.Status(layers[i].Digest.Encoded()[:12], "Waiting")
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sent     int64
	)
	pushed := make([]ocispec.Descriptor, len(layers))
	next := make(chan int, len(layers))
	for i := len(layers) - 1; i >= 0; i-- {
		next <- i
	}
	close(next)
	for range min(maxConcurrentUploads, len(layers)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					return
				}
				desc, n, err := p.pushLayer(ctx, i)
				mu.Lock()
				if err != nil {
					firstErr = firstCause(firstErr, err)
					cancel()
				} else {
					pushed[i] = desc
					sent += n
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = interrupted(ctx)
	}
	return pushed, sent, firstErr
}

// firstCause is the error to report of two from parallel work: a, unless
// it is missing or only the cancellation that b's failure caused.
func firstCause(a, b error) error {
	if a == nil || b != nil && errors.Is(a, context.Canceled) && !errors.Is(b, context.Canceled) {
		return b
	}
	return a
}

// pushLayer sends layer i, recompressed first when the push asks for a
// compression it is not stored in.
func (p *pusher) pushLayer(ctx context.Context, i int) (ocispec.Descriptor, int64, error) {
	desc := p.img.Manifest.Layers[i]
	if p.convert != nil {
		convert, err := needsConversion(desc, *p.convert)
		if err != nil {
			return desc, 0, err
		}
		if convert {
			id := desc.Digest.Encoded()[:12]
			conv, err := p.convertLayer(ctx, id, i)
			if err != nil {
				return desc, 0, err
			}
			defer conv.Close()
			n, err := pushBlob(ctx, p.s, p.sess, conv.desc, blobSource{file: conv.file, id: id}, p.progress, p.emit)
			return conv.desc, n, err
		}
	}
	n, err := pushBlob(ctx, p.s, p.sess, desc, blobSource{mountFrom: p.mounts[desc.Digest]}, p.progress, p.emit)
	return desc, n, err
}

// findExact finds the image listed under exactly this full name.
func findExact(s *store.Store, full string) (*store.Image, error) {
	images, err := s.Images()
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		for _, r := range img.Refs {
			if r == full {
				return img, nil
			}
		}
	}
	return nil, store.ErrNotFound
}

// mountCandidates maps layer digests to repositories of the same registry
// that hold them, according to the names in the store.
func mountCandidates(s *store.Store, target name.Repository, c *Client) (map[digest.Digest][]string, []name.Repository) {
	out := map[digest.Digest][]string{}
	var repos []name.Repository
	images, err := s.Images()
	if err != nil {
		return out, nil
	}
	seen := map[string]bool{}
	for _, img := range images {
		for _, r := range img.Refs {
			named, err := reference.ParseNormalizedNamed(r)
			if err != nil {
				continue
			}
			other, err := c.Repository(named.Name())
			if err != nil || other.RegistryStr() != target.RegistryStr() || other.RepositoryStr() == target.RepositoryStr() {
				continue
			}
			if !seen[other.RepositoryStr()] {
				seen[other.RepositoryStr()] = true
				repos = append(repos, other)
			}
			for _, l := range img.Manifest.Layers {
				out[l.Digest] = append(out[l.Digest], other.RepositoryStr())
			}
		}
	}
	return out, repos
}

// convertLayer recompresses layer i, one layer at a time.
func (p *pusher) convertLayer(ctx context.Context, id string, i int) (*convertedLayer, error) {
	select {
	case p.converting <- struct{}{}:
	case <-ctx.Done():
		return nil, interrupted(ctx)
	}
	defer func() { <-p.converting }()
	p.progress.Status(id, "Compressing")
	return convertLayer(ctx, p.s, p.img.Manifest.Layers[i], p.img.Config.RootFS.DiffIDs[i], *p.convert)
}

// blobSource says where pushBlob reads a blob: the store (file nil), or a
// recompressed copy, shown under the stored layer's short ID.
type blobSource struct {
	file      *os.File
	id        string
	mountFrom []string // repositories of the same registry that have it
}

// pushBlob makes sure the registry has one blob and returns the bytes sent.
// A nil progress pushes silently (the config).
func pushBlob(ctx context.Context, s *store.Store, sess *Session, desc ocispec.Descriptor, src blobSource, progress Progress, emit func(trace.Event)) (int64, error) {
	start := time.Now()
	id := desc.Digest.Encoded()[:12]
	if src.id != "" {
		id = src.id
	}
	if progress == nil {
		progress = discardProgress{}
	}
	blobEvent := func(sent int64, reused bool) {
		emit(trace.Event{Type: trace.PushBlob, Blob: &trace.BlobInfo{
			Digest: desc.Digest.String(), MediaType: desc.MediaType, Bytes: desc.Size,
			Reused: reused, DurationMS: time.Since(start).Milliseconds()}})
	}
	exists, err := sess.BlobExists(ctx, desc.Digest)
	if err != nil {
		return 0, err
	}
	if exists {
		progress.Done(id, "Layer already exists")
		blobEvent(0, true)
		return 0, nil
	}
	f := src.file
	if f == nil {
		if f, err = s.OpenBlob(desc.Digest); err != nil {
			return 0, fmt.Errorf("blob %s of the image is missing from the store: %w", desc.Digest, err)
		}
		defer f.Close()
	}
	// The file itself, unless a terminal shows the bytes: net/http then
	// sends it with sendfile(2), without copying it through Berth.
	var body io.Reader = f
	if _, bars := progress.(*barProgress); bars {
		body = &progressReader{r: f, total: desc.Size, report: func(done, total int64) {
			progress.Bytes(id, "Pushing", done, total)
		}}
	}
	from := ""
	if len(src.mountFrom) > 0 {
		from = src.mountFrom[0]
	}
	mounted, err := sess.UploadBlob(ctx, desc.Digest, desc.Size, body, from)
	if err != nil {
		if ctx.Err() != nil {
			return 0, interrupted(ctx)
		}
		return 0, fmt.Errorf("push blob %s: %w", desc.Digest, err)
	}
	if mounted {
		progress.Done(id, "Mounted from "+from)
		blobEvent(0, true)
		return 0, nil
	}
	progress.Done(id, "Pushed")
	blobEvent(desc.Size, false)
	return desc.Size, nil
}
