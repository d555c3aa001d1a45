package engine

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageInspect is `docker image inspect`'s view of an image, with Docker's
// field names, so `--format '{{.Config.Cmd}}'` and scripts written for
// Docker work unchanged.
type ImageInspect struct {
	ID            string          `json:"Id"`
	RepoTags      []string        `json:"RepoTags"`
	RepoDigests   []string        `json:"RepoDigests"`
	Parent        string          `json:"Parent"`
	Comment       string          `json:"Comment"`
	Created       string          `json:"Created"`
	DockerVersion string          `json:"DockerVersion"`
	Author        string          `json:"Author"`
	Config        *InspectConfig  `json:"Config"`
	Architecture  string          `json:"Architecture"`
	Variant       string          `json:"Variant,omitempty"`
	Os            string          `json:"Os"`
	OsVersion     string          `json:"OsVersion,omitempty"`
	Size          int64           `json:"Size"`
	RootFS        InspectRootFS   `json:"RootFS"`
	Metadata      InspectMetadata `json:"Metadata"`
}

// InspectConfig is Docker's container config as image inspect shows it.
type InspectConfig struct {
	Hostname     string              `json:"Hostname"`
	Domainname   string              `json:"Domainname"`
	User         string              `json:"User"`
	AttachStdin  bool                `json:"AttachStdin"`
	AttachStdout bool                `json:"AttachStdout"`
	AttachStderr bool                `json:"AttachStderr"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Tty          bool                `json:"Tty"`
	OpenStdin    bool                `json:"OpenStdin"`
	StdinOnce    bool                `json:"StdinOnce"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Healthcheck  *store.HealthConfig `json:"Healthcheck,omitempty"`
	ArgsEscaped  bool                `json:"ArgsEscaped,omitempty"`
	Image        string              `json:"Image"`
	Volumes      map[string]struct{} `json:"Volumes"`
	WorkingDir   string              `json:"WorkingDir"`
	Entrypoint   []string            `json:"Entrypoint"`
	OnBuild      []string            `json:"OnBuild"`
	Labels       map[string]string   `json:"Labels"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	Shell        []string            `json:"Shell,omitempty"`
}

// InspectRootFS lists the diff IDs.
type InspectRootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

// InspectMetadata is Docker's image metadata.
type InspectMetadata struct {
	LastTagTime string `json:"LastTagTime"`
}

// rawConfig holds the config fields Docker writes that OCI's struct drops.
type rawConfig struct {
	Comment       string         `json:"comment"`
	DockerVersion string         `json:"docker_version"`
	Config        *InspectConfig `json:"config"`
}

// InspectImage describes an image as `docker image inspect` does.
func (e *Engine) InspectImage(ctx context.Context, name string) (*ImageInspect, error) {
	img, err := e.Store.Image(name)
	if err != nil {
		return nil, err
	}
	data, err := e.Store.ReadBlob(img.ID)
	if err != nil {
		return nil, fmt.Errorf("image %s: read config: %w", img.ShortID(), err)
	}
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("image %s: config: %w", img.ShortID(), err)
	}
	cfg := raw.Config
	if cfg == nil {
		cfg = &InspectConfig{}
	}
	out := &ImageInspect{
		ID:            img.ID.String(),
		RepoTags:      sortedRefs(img),
		RepoDigests:   []string{},
		Parent:        img.Parent.String(),
		Comment:       raw.Comment,
		DockerVersion: raw.DockerVersion,
		Author:        img.Config.Author,
		Config:        cfg,
		Architecture:  img.Config.Architecture,
		Variant:       img.Config.Variant,
		Os:            img.Config.OS,
		OsVersion:     img.Config.OSVersion,
		Size:          img.Size,
		RootFS:        InspectRootFS{Type: img.Config.RootFS.Type, Layers: []string{}},
		Metadata:      InspectMetadata{LastTagTime: time.Time{}.Format(time.RFC3339Nano)},
	}
	for _, m := range manifestsOf(img) {
		recorded, err := e.Store.RepoDigests(m)
		if err != nil {
			continue
		}
		for _, rd := range recorded {
			if f := store.Familiar(rd); !slices.Contains(out.RepoDigests, f) {
				out.RepoDigests = append(out.RepoDigests, f)
			}
		}
	}
	if out.Comment == "" && len(img.Config.History) > 0 {
		out.Comment = img.Config.History[len(img.Config.History)-1].Comment
	}
	if created := img.Created(); !created.IsZero() {
		out.Created = created.UTC().Format(time.RFC3339Nano)
	}
	for _, d := range img.DiffIDs() {
		out.RootFS.Layers = append(out.RootFS.Layers, d.String())
	}
	if out.Size == 0 && len(img.Manifest.Layers) > 0 {
		if sizes, err := e.uncompressedSizes(ctx, img); err == nil {
			for _, n := range sizes {
				out.Size += n
			}
		}
	}
	return out, ctxErr(ctx)
}

// HistoryItem is one row of `history`: a history entry of the image config,
// newest first, with the ID of the local image that step produced.
type HistoryItem struct {
	// ID is the image the step produced ("sha256:..."), or "<missing>"
	// when that image is not in the store (pulled or loaded images).
	ID         string
	Created    time.Time
	CreatedBy  string
	Tags       []string
	Size       int64
	Comment    string
	EmptyLayer bool
	// Layer is the index of the entry's layer (0 = base), or -1.
	Layer int
}

// ImageHistory lists the image's history newest first. As Docker, each entry
// gets the ID of the image at that point of the parent chain, for the
// entries whose images the store still has, and "<missing>" beyond.
func (e *Engine) ImageHistory(ctx context.Context, name string) ([]HistoryItem, error) {
	images, err := e.Images()
	if err != nil {
		return nil, err
	}
	img, err := store.FindImage(images, name)
	if err != nil {
		return nil, err
	}
	sizes, err := e.layerSizesOf(ctx, img)
	if err != nil {
		return nil, err
	}
	history := img.Config.History
	if len(history) == 0 {
		// Images made without history (some tools do that): one row per layer.
		for range img.Manifest.Layers {
			history = append(history, ocispec.History{})
		}
	}
	items := make([]HistoryItem, 0, len(history))
	layerIndex := 0
	for _, h := range history {
		item := HistoryItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer, Layer: -1}
		if h.Created != nil {
			item.Created = *h.Created
		}
		if !h.EmptyLayer && layerIndex < len(sizes) {
			item.Size = sizes[layerIndex]
			item.Layer = layerIndex
			layerIndex++
		}
		items = append(items, item)
	}
	// Newest first.
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
	byID := map[digest.Digest]*store.Image{}
	for _, other := range images {
		byID[other.ID] = other
	}
	step := img
	for i := range items {
		items[i].ID = step.ID.String()
		items[i].Tags = sortedRefs(step)
		if step.Parent == "" || byID[step.Parent] == nil {
			break
		}
		step = byID[step.Parent]
	}
	return items, ctxErr(ctx)
}

// layerSizesOf returns the uncompressed size of each layer, from the index
// when it records them, else by reading the layers.
func (e *Engine) layerSizesOf(ctx context.Context, img *store.Image) ([]int64, error) {
	if sizes, ok := img.LayerSizes(); ok {
		return sizes, nil
	}
	return e.uncompressedSizes(ctx, img)
}

func (e *Engine) uncompressedSizes(ctx context.Context, img *store.Image) ([]int64, error) {
	sizes := make([]int64, len(img.Manifest.Layers))
	for i, l := range img.Manifest.Layers {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		f, err := e.Store.OpenBlob(l.Digest)
		if err != nil {
			return nil, fmt.Errorf("image %s layer %d: %w", img.ShortID(), i+1, err)
		}
		n, err := func() (int64, error) {
			defer f.Close()
			r, err := layer.Decompress(f)
			if err != nil {
				return 0, err
			}
			defer r.Close()
			return io.Copy(io.Discard, r)
		}()
		if err != nil {
			return nil, fmt.Errorf("image %s layer %d: %w", img.ShortID(), i+1, err)
		}
		sizes[i] = n
	}
	return sizes, nil
}

// LayerChanges is what one layer of an image adds, changes and deletes
// relative to the layers below it: the image-side twin of `berth diff`.
type LayerChanges struct {
	// Index is the layer's position, 0 for the base layer.
	Index  int
	DiffID digest.Digest
	Digest digest.Digest
	// Size is the uncompressed size of the layer.
	Size int64
	// CreatedBy is the history entry that made the layer.
	CreatedBy string
	Created   time.Time
	// Changes are in the layer's order: "A /etc/redis.conf", "C /etc",
	// "D /tmp/build" (a whiteout).
	Changes []layer.Change
}

// ImageChanges reads the image's layers, base first, and says what each one
// adds (A), changes (C: the path existed below) and deletes (D: whiteouts,
// and what an opaque directory hides).
func (e *Engine) ImageChanges(ctx context.Context, name string) (*store.Image, []LayerChanges, error) {
	img, err := e.Store.Image(name)
	if err != nil {
		return nil, nil, err
	}
	var entries []historyEntry
	for _, h := range img.Config.History {
		if !h.EmptyLayer {
			entries = append(entries, historyEntry{createdBy: h.CreatedBy, created: h.Created})
		}
	}
	present := map[string]bool{}
	out := make([]LayerChanges, 0, len(img.Manifest.Layers))
	for i, desc := range img.Manifest.Layers {
		lc := LayerChanges{Index: i, Digest: desc.Digest}
		if i < len(img.DiffIDs()) {
			lc.DiffID = img.DiffIDs()[i]
		}
		if i < len(entries) {
			lc.CreatedBy = entries[i].createdBy
			if entries[i].created != nil {
				lc.Created = *entries[i].created
			}
		}
		if err := e.layerChanges(ctx, desc.Digest, present, &lc); err != nil {
			return nil, nil, fmt.Errorf("image %s layer %d: %w", img.ShortID(), i+1, err)
		}
		out = append(out, lc)
	}
	return img, out, nil
}

type historyEntry struct {
	createdBy string
	created   *time.Time
}

// layerChanges classifies one layer's entries against the paths present
// below it, and updates present.
func (e *Engine) layerChanges(ctx context.Context, blob digest.Digest, present map[string]bool, lc *LayerChanges) error {
	added := map[string]bool{} // paths this layer writes
	walk, err := e.walkLayer(ctx, blob, func(p string, _ *tar.Header) {
		kind := layer.ChangeAdd
		if present[p] {
			kind = layer.ChangeModify
		}
		lc.Changes = append(lc.Changes, layer.Change{Kind: kind, Path: p})
		added[p] = true
	})
	if err != nil {
		return err
	}
	lc.Size = walk.size
	for _, d := range walk.deletes {
		if present[d] && !added[d] {
			lc.Changes = append(lc.Changes, layer.Change{Kind: layer.ChangeDelete, Path: d})
		}
		removeTree(present, d, added)
	}
	for _, d := range walk.opaque {
		// What lower layers had directly in d is gone (deeper paths go with
		// their parent, as `rm -r` would report it).
		var hidden []string
		for p := range present {
			if path.Dir(p) == d && !added[p] {
				hidden = append(hidden, p)
			}
		}
		sort.Strings(hidden)
		for _, p := range hidden {
			lc.Changes = append(lc.Changes, layer.Change{Kind: layer.ChangeDelete, Path: p})
			removeTree(present, p, added)
		}
	}
	for p := range added {
		present[p] = true
	}
	return nil
}

// removeTree drops p and everything below it from present, except paths in keep.
func removeTree(present map[string]bool, p string, keep map[string]bool) {
	prefix := p + "/"
	for q := range present {
		if (q == p || strings.HasPrefix(q, prefix)) && !keep[q] {
			delete(present, q)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// manifestsOf is every manifest of img, ManifestDigest first.
func manifestsOf(img *store.Image) []digest.Digest {
	if len(img.Manifests) == 0 {
		return []digest.Digest{img.ManifestDigest}
	}
	return img.Manifests
}
