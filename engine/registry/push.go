package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

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
}

// PushResult says what a push stored in the registry.
type PushResult struct {
	Ref    string        // full reference pushed
	Digest digest.Digest // the manifest's digest in the registry
	Size   int64         // the manifest's size
}

// Push sends the image the store lists under name (REPO[:TAG], the tag
// defaulting to latest) to its registry: layers top first, each checked
// with a HEAD first ("Layer already exists"), mounted from another
// repository of the same registry that has it when possible ("Mounted
// from"), uploaded otherwise ("Pushed"); then the config and the manifest,
// byte for byte as stored. The registry's name@digest is recorded in the
// store.
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

	out := opts.Progress
	if opts.Quiet {
		out = nil
	}
	progress := NewProgress(out)
	defer progress.Close()
	img, err := findExact(s, ref.String())
	if err != nil {
		return res, fmt.Errorf("An image does not exist locally with the tag: %s", reference.FamiliarName(ref))
	}
	info.Image = img.ID.String()
	progress.Line("The push refers to repository [%s]", ref.Name())

	repo, err := c.Repository(ref.Name())
	if err != nil {
		return res, err
	}
	mounts, mountRepos := mountCandidates(s, repo, c)
	sess, err := c.Open(ctx, repo, Push, mountRepos...)
	if err != nil {
		return res, err
	}
	data, mediaType, err := s.ManifestBytes(img)
	if err != nil {
		return res, err
	}

	layers := img.Manifest.Layers
	for i := len(layers) - 1; i >= 0; i-- {
		progress.Status(layers[i].Digest.Encoded()[:12], "Preparing")
	}
	if len(layers) > maxConcurrentUploads {
		for i := len(layers) - 1 - maxConcurrentUploads; i >= 0; i-- {
			progress.Status(layers[i].Digest.Encoded()[:12], "Waiting")
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, maxConcurrentUploads)
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			n, err := pushBlob(ctx, s, sess, l, mounts[l.Digest], progress, emit)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil || errors.Is(firstErr, context.Canceled) {
					firstErr = err
				}
				cancel()
				return
			}
			info.Bytes += n
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	n, err := pushBlob(ctx, s, sess, img.Manifest.Config, nil, nil, emit)
	if err != nil {
		return res, err
	}
	info.Bytes += n
	if err := sess.PutManifest(ctx, tagged.Tag(), mediaType, data); err != nil {
		return res, fmt.Errorf("push manifest of %s: %w", familiar, err)
	}
	progress.Close()
	if out != nil {
		fmt.Fprintf(out, "%s: digest: %s size: %d\n", tagged.Tag(), img.ManifestDigest, len(data))
	}
	info.Digest = img.ManifestDigest.String()
	_ = s.SetRepoDigest(ref.String(), ref.Name()+"@"+img.ManifestDigest.String())
	return PushResult{Ref: ref.String(), Digest: img.ManifestDigest, Size: int64(len(data))}, nil
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

// pushBlob makes sure the registry has one blob and returns the bytes sent.
// A nil progress pushes silently (the config).
func pushBlob(ctx context.Context, s *store.Store, sess *Session, desc ocispec.Descriptor, mountFrom []string, progress Progress, emit func(trace.Event)) (int64, error) {
	start := time.Now()
	id := desc.Digest.Encoded()[:12]
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
	f, err := s.OpenBlob(desc.Digest)
	if err != nil {
		return 0, fmt.Errorf("blob %s of the image is missing from the store: %w", desc.Digest, err)
	}
	defer f.Close()
	src := &progressReader{r: f, total: desc.Size, report: func(done, total int64) {
		progress.Bytes(id, "Pushing", done, total)
	}}
	from := ""
	if len(mountFrom) > 0 {
		from = mountFrom[0]
	}
	mounted, err := sess.UploadBlob(ctx, desc.Digest, desc.Size, src, from)
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
