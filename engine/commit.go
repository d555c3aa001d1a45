package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/snapshot"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// commitSpec says how to save a container as an image.
type commitSpec struct {
	// Config is the new image's config before the new layer and history
	// entry are added. The entry is appended to its History in place when
	// that has room: the room past its length must be the caller's to give
	// (build.CommitRequest).
	Config ocispec.Image
	Ext    store.ExtConfig
	Parent *store.Image // nil for scratch
	// CreatedBy, Comment and Author make the history entry.
	CreatedBy string
	Comment   string
	Author    string
	// NoLayer: the container never started; no snapshot is taken.
	NoLayer bool
	// AdoptUpper moves the upper dir into the layer store after the commit
	// (build steps, whose container is removed right after).
	AdoptUpper  bool
	Compression layer.Compression
	// beforeAdopt, when set, runs before the upper dir is adopted: a build
	// step's waits there for its container's mounts to go.
	beforeAdopt func()
}

// commitContainer takes the container's filesystem snapshot (the diff of
// its overlay upper dir against the image) as a new layer and saves a new
// image whose parent is the image the container ran.
func (e *Engine) commitContainer(ctx context.Context, containerID string, spec commitSpec) (*store.Image, error) {
	cfg := spec.Config
	epoch, err := SourceDateEpoch()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if !epoch.IsZero() {
		now = epoch
	}
	cfg.Created = &now
	if spec.Author != "" {
		cfg.Author = spec.Author
	}
	layers, sizes := parentLayers(spec.Parent)
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = append([]digest.Digest{}, cfg.RootFS.DiffIDs...)
	history := ocispec.History{Created: &now, CreatedBy: spec.CreatedBy, Comment: spec.Comment, Author: spec.Author}

	var upper string
	var res *layer.DiffResult
	if !spec.NoLayer {
		var desc ocispec.Descriptor
		if upper, res, desc, err = e.snapshotContainer(ctx, containerID, spec.Compression, epoch); err != nil {
			return nil, err
		}
		if !res.Empty {
			layers = append(layers, desc)
			sizes = append(sizes, res.UncompressedSize)
			cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, res.DiffID)
		}
	}
	if res == nil || res.Empty {
		history.EmptyLayer = true
		e.EmitContext(ctx, trace.Event{Type: trace.Layer, Layer: &trace.LayerInfo{Empty: true}})
	} else {
		e.EmitContext(ctx, trace.Event{Type: trace.Layer, Layer: &trace.LayerInfo{
			DiffID: res.DiffID.String(), Digest: res.Digest.String(), Size: res.Size,
			UncompressedSize: res.UncompressedSize, MediaType: res.MediaType,
		}})
	}
	// In place when the caller gave room (commitSpec.Config: a build step
	// appends to its stage's array rather than copying the whole history);
	// clipped, so nobody appends into that room again.
	cfg.History = slices.Clip(append(cfg.History, history))
	opts := store.ImageOptions{LayerSizes: sizes, Ext: spec.Ext}
	if spec.Parent != nil {
		opts.Parent = spec.Parent.ID
	}
	img, err := e.Store.PutImage(cfg, layers, opts)
	if err != nil {
		return nil, fmt.Errorf("save image: %w", err)
	}
	if spec.AdoptUpper && !history.EmptyLayer && upper != "" {
		if spec.beforeAdopt != nil {
			spec.beforeAdopt()
		}
		chains := img.ChainIDs()
		// Best effort: if the move fails the layer is unpacked from its blob
		// when next needed. A step's overlay is mounted volatile
		// (upperDiscarded), so its exit synced nothing: AdoptLayerDir syncs
		// the upper before it becomes layers/<chainID>. A step that wrote
		// nothing (an empty layer) is not adopted and pays for no sync.
		if e.Store.AdoptLayerDir(chains[len(chains)-1], upper) == nil {
			_ = os.Mkdir(upper, 0o755)
		}
	}
	info := &trace.ImageInfo{ID: img.ID.String(), CreatedBy: spec.CreatedBy, Cmd: img.Config.Config.Cmd, Layers: len(img.Manifest.Layers)}
	if spec.Parent != nil {
		info.Parent = spec.Parent.ID.String()
	}
	e.EmitContext(ctx, trace.Event{Type: trace.Image, Image: info})
	return img, nil
}

// parentLayers are the layers a commit starts from, the parent's, with
// their uncompressed sizes.
func parentLayers(parent *store.Image) ([]ocispec.Descriptor, []int64) {
	if parent == nil {
		return nil, nil
	}
	layers := append([]ocispec.Descriptor(nil), parent.Manifest.Layers...)
	if sizes, ok := parent.LayerSizes(); ok {
		return layers, append([]int64(nil), sizes...)
	}
	// Per-layer sizes unknown: the total stays right, and history falls
	// back to reading the layers.
	return layers, []int64{parent.Size}
}

// snapshotContainer writes the diff of the container's upper dir against
// its image as a layer blob and says so in the trace; it returns the upper
// dir, which a build step's commit may adopt as the layer's directory.
func (e *Engine) snapshotContainer(ctx context.Context, containerID string, c layer.Compression, epoch time.Time) (string, *layer.DiffResult, ocispec.Descriptor, error) {
	snaps := snapshot.New(e.Store.ContainersDir())
	upper := snaps.UpperDir(containerID)
	lowers := func() ([]string, error) { return snaps.LowerDirs(containerID) }
	res, desc, err := e.writeLayer(ctx, upper, lowers, c, epoch)
	if err != nil {
		return "", nil, ocispec.Descriptor{}, fmt.Errorf("commit %s: %w", trace.ShortID(containerID), err)
	}
	e.EmitContext(ctx, trace.Event{Type: trace.Snapshot, Snapshot: snapshotInfo(containerID, res)})
	return upper, res, desc, nil
}

// writeLayer streams the diff of upper into a blob: the tar is produced in
// one goroutine, compressed and digested on the way, and ingested by the
// store, so no layer is ever held in memory.
func (e *Engine) writeLayer(ctx context.Context, upper string, lowerDirs func() ([]string, error), c layer.Compression, epoch time.Time) (*layer.DiffResult, ocispec.Descriptor, error) {
	// An upper dir the container left empty is an empty layer: no tar, no
	// compressor and no blob that no image would name, and no lower dirs
	// to read (a snapshot's l/ links): only a diff needs them.
	res, err := layer.NothingChanged(upper, c)
	if res != nil {
		return res, ocispec.Descriptor{}, nil
	}
	lowers, lerr := lowerDirs()
	if lerr != nil {
		return nil, ocispec.Descriptor{}, lerr // a missing snapshot says so
	}
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		var err error
		res, err = layer.Diff(ctx, upper, pw, layer.DiffOptions{Compression: c, LowerDirs: lowers, Epoch: epoch, MaxChanges: maxSnapshotPaths + 1})
		pw.CloseWithError(err)
		done <- err
	}()
	// The image made over this layer syncs the blob directory once for
	// the layer, its config and its manifest (store.IngestBlob).
	d, size, err := e.Store.IngestBlob(pr, "", -1)
	pr.CloseWithError(errors.New("ingest stopped"))
	diffErr := <-done
	// A store that stopped ingesting (a full disk) is the cause; the
	// diff's "ingest stopped" is only its echo.
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	if diffErr != nil {
		return nil, ocispec.Descriptor{}, diffErr
	}
	return res, ocispec.Descriptor{MediaType: res.MediaType, Digest: d, Size: size}, nil
}

// maxSnapshotPaths is how many changed paths a snapshot event lists; the
// diff keeps one more, to know the list was cut.
const maxSnapshotPaths = 200

func snapshotInfo(containerID string, res *layer.DiffResult) *trace.SnapshotInfo {
	s := res.Summary
	info := &trace.SnapshotInfo{Container: containerID, Added: s.Added, Changed: s.Changed, Deleted: s.Deleted, Bytes: s.Bytes}
	for _, p := range s.Largest {
		info.Largest = append(info.Largest, trace.PathSize{Path: p.Path, Bytes: p.Size})
	}
	for i, c := range s.Changes {
		if i == maxSnapshotPaths {
			info.Truncated = true
			break
		}
		info.Paths = append(info.Paths, string(rune(c.Kind))+" "+c.Path)
	}
	return info
}

// CommitOptions are `berth commit`'s flags.
type CommitOptions struct {
	Author  string
	Message string
	Changes []string // Dockerfile instructions: CMD, ENTRYPOINT, ENV, ...
	// Pause freezes a running container while its snapshot is taken.
	Pause bool
	// Ref tags the new image (REPO[:TAG]); empty leaves it untagged.
	Ref string
	// Compression of the new layer: gzip (the zero value) or zstd.
	Compression layer.Compression
}

// Commit saves a container's changes as a new image, as `docker commit`.
func (e *Engine) Commit(ctx context.Context, nameOrID string, opts CommitOptions) (*store.Image, error) {
	c, err := e.Store.Container(nameOrID)
	if err != nil {
		return nil, err
	}
	var tagRef string
	if opts.Ref != "" {
		ref, err := store.ParseTag(opts.Ref)
		if err != nil {
			return nil, err
		}
		tagRef = ref.String()
	}
	parent, err := e.Store.Image(c.Image)
	if err != nil {
		return nil, fmt.Errorf("container %s: its image %s: %w", c.ShortID(), trace.ShortID(c.Image), err)
	}
	cfg := cloneImageConfig(parent.Config)
	ext := parent.Ext
	// The new image runs what the container ran, as Docker's commit does.
	cc := c.Config
	cfg.Config.Env = cc.Env
	cfg.Config.Cmd = cc.Cmd
	if cc.Entrypoint != nil {
		cfg.Config.Entrypoint = cc.Entrypoint
	}
	if cc.WorkingDir != "" {
		cfg.Config.WorkingDir = cc.WorkingDir
	}
	if cc.User != "" {
		cfg.Config.User = cc.User
	}
	if len(cc.Labels) > 0 {
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		for k, v := range cc.Labels {
			cfg.Config.Labels[k] = v
		}
	}
	if err := build.ApplyChanges(&cfg, &ext, opts.Changes); err != nil {
		return nil, err
	}
	if opts.Pause && c.State.Status == "running" {
		if err := e.PauseContainer(ctx, c.ID); err == nil {
			defer e.UnpauseContainer(context.WithoutCancel(ctx), c.ID)
		} else if !errors.Is(err, ErrNotRunning) {
			return nil, fmt.Errorf("pause container %s for the snapshot: %w", c.ShortID(), err)
		}
	}
	createdBy := strings.Join(append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...), " ")
	ctx = trace.WithScope(ctx, trace.Scope{})
	img, err := e.commitContainer(ctx, c.ID, commitSpec{
		Config: cfg, Ext: ext, Parent: parent, CreatedBy: createdBy,
		Comment: opts.Message, Author: opts.Author, Compression: opts.Compression,
	})
	if err != nil {
		return nil, err
	}
	if tagRef != "" {
		if _, err := e.Store.Tag(img.ID, tagRef); err != nil {
			return nil, err
		}
		e.EmitContext(ctx, trace.Event{Type: trace.Tag, Tag: &trace.TagInfo{Image: img.ID.String(), Ref: store.Familiar(tagRef)}})
	}
	return img, nil
}

func cloneImageConfig(c ocispec.Image) ocispec.Image {
	out := c
	out.Config.Env = append([]string(nil), c.Config.Env...)
	out.Config.Cmd = append([]string(nil), c.Config.Cmd...)
	out.Config.Entrypoint = append([]string(nil), c.Config.Entrypoint...)
	out.RootFS.DiffIDs = append([]digest.Digest(nil), c.RootFS.DiffIDs...)
	out.History = append([]ocispec.History(nil), c.History...)
	if c.Config.Labels != nil {
		out.Config.Labels = map[string]string{}
		for k, v := range c.Config.Labels {
			out.Config.Labels[k] = v
		}
	}
	if c.Config.ExposedPorts != nil {
		out.Config.ExposedPorts = map[string]struct{}{}
		for k := range c.Config.ExposedPorts {
			out.Config.ExposedPorts[k] = struct{}{}
		}
	}
	if c.Config.Volumes != nil {
		out.Config.Volumes = map[string]struct{}{}
		for k := range c.Config.Volumes {
			out.Config.Volumes[k] = struct{}{}
		}
	}
	return out
}
