package imagearchive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// loadPlan is what a load will add: images (config, manifest, layer blobs)
// and their names.
type loadPlan struct {
	images []*plannedImage
}

type plannedImage struct {
	configData     []byte
	config         ocispec.Image
	id             digest.Digest
	manifestData   []byte
	manifestDigest digest.Digest
	mediaType      string
	layers         []stagedFile // layer blobs to store
	layerSizes     []int64
	refs           []string // full names
}

// maxArchiveIndex bounds an archive's own index.json or manifest.json,
// which list its images: the manifest limit, room for thousands of images.
const maxArchiveIndex = store.MaxManifestSize

func (st *stagedArchive) plan(ctx context.Context) (*loadPlan, error) {
	_, hasIndex := st.lookup("index.json")
	_, hasManifest := st.lookup("manifest.json")
	var p *loadPlan
	var err error
	switch {
	case hasIndex:
		p, err = st.planOCI(ctx)
		if err == nil && hasManifest {
			err = st.addDockerNames(p)
		}
	case hasManifest:
		p, err = st.planDocker(ctx)
	default:
		hint := ""
		for name := range st.files {
			if strings.HasPrefix(name, "etc/") || strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "usr/") {
				hint = "; it looks like a root file system: use `berth import` for that"
				break
			}
		}
		return nil, fmt.Errorf("the archive is not an image: it has neither manifest.json (docker save) nor index.json (OCI layout)%s", hint)
	}
	if err != nil {
		return nil, fmt.Errorf("the archive is not a valid image archive: %w; nothing was loaded", err)
	}
	if len(p.images) == 0 {
		return nil, errors.New("the archive holds no image for linux/" + runtime.GOARCH + ": nothing was loaded")
	}
	return p, nil
}

func (st *stagedArchive) blob(d ocispec.Descriptor) (stagedFile, error) {
	if err := d.Digest.Validate(); err != nil {
		return stagedFile{}, fmt.Errorf("digest %q: %v", d.Digest, err)
	}
	f, ok := st.lookup(blobName(d.Digest))
	if !ok {
		return f, fmt.Errorf("blob %s is missing", d.Digest)
	}
	if f.digest != d.Digest {
		return f, fmt.Errorf("blob %s is corrupt: its content hashes to %s", d.Digest, f.digest)
	}
	if f.size != d.Size {
		return f, fmt.Errorf("blob %s is %d bytes, its descriptor says %d", d.Digest, f.size, d.Size)
	}
	return f, nil
}

func (st *stagedArchive) planOCI(ctx context.Context) (*loadPlan, error) {
	data, _, err := st.read("index.json", maxArchiveIndex)
	if err != nil {
		return nil, err
	}
	idx, err := store.DecodeIndex(data)
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	p := &loadPlan{}
	byManifest := map[digest.Digest]*plannedImage{}
	var walk func(descs []ocispec.Descriptor, depth int, names []string) error
	walk = func(descs []ocispec.Descriptor, depth int, inherited []string) error {
		for _, d := range descs {
			names := append(namesFromAnnotations(d.Annotations), inherited...)
			switch d.MediaType {
			case ocispec.MediaTypeImageManifest, store.MediaTypeDockerManifest:
				if d.Platform != nil && !platformMatches(d.Platform) {
					continue
				}
				if img := byManifest[d.Digest]; img != nil {
					img.refs = appendNew(img.refs, names...)
					continue
				}
				img, err := st.planManifest(ctx, d)
				if err != nil {
					return err
				}
				img.refs = appendNew(img.refs, names...)
				byManifest[d.Digest] = img
				p.images = append(p.images, img)
			case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
				if depth > 4 {
					return errors.New("indexes nest too deep")
				}
				f, err := st.blob(d)
				if err != nil {
					return err
				}
				nested, err := os.ReadFile(f.path)
				if err != nil {
					return err
				}
				sub, err := store.DecodeIndex(nested)
				if err != nil {
					return fmt.Errorf("index %s: %w", d.Digest, err)
				}
				if err := walk(sub.Manifests, depth+1, names); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(idx.Manifests, 0, nil); err != nil {
		return nil, err
	}
	return p, nil
}

func platformMatches(p *ocispec.Platform) bool {
	return (p.OS == "" || p.OS == "linux") && (p.Architecture == "" || p.Architecture == runtime.GOARCH)
}

// namesFromAnnotations reads an image's full name from an index entry:
// containerd's annotation, or a ref.name that is a whole reference (one
// that is only a tag, as "latest", cannot name an image by itself).
func namesFromAnnotations(a map[string]string) []string {
	for _, candidate := range []string{a[AnnotationContainerdName], a[ocispec.AnnotationRefName]} {
		if candidate == "" || !strings.ContainsAny(candidate, ":/") {
			continue
		}
		if ref, err := store.ParseTag(candidate); err == nil {
			return []string{ref.String()}
		}
	}
	return nil
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, have := range list {
			if have == it {
				found = true
			}
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}

func (st *stagedArchive) planManifest(ctx context.Context, d ocispec.Descriptor) (*plannedImage, error) {
	f, err := st.blob(d)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if f.size > store.MaxManifestSize {
		return nil, fmt.Errorf("manifest %s is %d bytes, over berth's limit of %d bytes (4 MiB)", d.Digest, f.size, store.MaxManifestSize)
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	m, err := store.DecodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	img := &plannedImage{manifestData: data, manifestDigest: d.Digest, mediaType: d.MediaType}
	cf, err := st.blob(m.Config)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := img.setConfig(cf); err != nil {
		return nil, err
	}
	if len(m.Layers) != len(img.config.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image %s: manifest lists %d layers, config has %d diff IDs", img.id.Encoded()[:12], len(m.Layers), len(img.config.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		lf, err := st.blob(l)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		size, err := verifyLayerFile(ctx, lf, l.MediaType, img.config.RootFS.DiffIDs[i])
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i+1, l.Digest, err)
		}
		img.layers = append(img.layers, lf)
		img.layerSizes = append(img.layerSizes, size)
	}
	return img, nil
}

func (img *plannedImage) setConfig(f stagedFile) error {
	if f.size > store.MaxConfigSize {
		return fmt.Errorf("image config %s is %d bytes, over berth's limit of %d bytes (8 MiB)", f.digest.Encoded()[:12], f.size, store.MaxConfigSize)
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return err
	}
	if img.config, err = store.DecodeConfig(data); err != nil {
		return fmt.Errorf("image config %s: %w", f.digest.Encoded()[:12], err)
	}
	img.configData = data
	img.id = f.digest
	return nil
}

// verifyLayerFile decompresses a staged layer, checks that it is compressed
// as mediaType says, is a well-formed tar and has the digest diffID, and
// returns its uncompressed size.
func verifyLayerFile(ctx context.Context, f stagedFile, mediaType string, diffID digest.Digest) (int64, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	n, got, err := store.CheckLayer(ctxReader{ctx: ctx, r: file}, mediaType)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctxErr(ctx)
		}
		return 0, err
	}
	if got != diffID {
		return 0, fmt.Errorf("its content hashes to %s, the config says %s", got, diffID)
	}
	return n, nil
}

// ctxReader stops reading once ctx is done, so a long verification ends on
// SIGINT.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (st *stagedArchive) readDockerManifest() ([]dockerManifestEntry, error) {
	data, _, err := st.read("manifest.json", maxArchiveIndex)
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("manifest.json: %v", err)
	}
	return entries, nil
}

func (st *stagedArchive) planDocker(ctx context.Context) (*loadPlan, error) {
	entries, err := st.readDockerManifest()
	if err != nil {
		return nil, err
	}
	p := &loadPlan{}
	for _, entry := range entries {
		cf, ok := st.lookup(entry.Config)
		if !ok {
			return nil, fmt.Errorf("manifest.json names config %s, which the archive lacks", entry.Config)
		}
		// Old archives name the config <hex>.json, new ones blobs/sha256/<hex>.
		base := strings.TrimSuffix(path.Base(entry.Config), ".json")
		if len(base) == 64 && base != cf.digest.Encoded() {
			return nil, fmt.Errorf("config %s is corrupt: its content hashes to %s", entry.Config, cf.digest)
		}
		img := &plannedImage{mediaType: ocispec.MediaTypeImageManifest}
		if err := img.setConfig(cf); err != nil {
			return nil, err
		}
		if len(entry.Layers) != len(img.config.RootFS.DiffIDs) {
			return nil, fmt.Errorf("image %s: manifest.json lists %d layers, its config %d diff IDs", img.id.Encoded()[:12], len(entry.Layers), len(img.config.RootFS.DiffIDs))
		}
		m := ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageManifest,
			Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cf.digest, Size: cf.size},
			Layers:    []ocispec.Descriptor{},
		}
		for i, name := range entry.Layers {
			lf, ok := st.lookup(name)
			if !ok {
				return nil, fmt.Errorf("manifest.json names layer %s, which the archive lacks", name)
			}
			if base := path.Base(name); len(base) == 64 && strings.HasPrefix(name, "blobs/") && base != lf.digest.Encoded() {
				return nil, fmt.Errorf("layer %s is corrupt: its content hashes to %s", name, lf.digest)
			}
			mediaType, err := layerMediaType(lf.path)
			if err != nil {
				return nil, err
			}
			size, err := verifyLayerFile(ctx, lf, mediaType, img.config.RootFS.DiffIDs[i])
			if err != nil {
				return nil, fmt.Errorf("layer %d (%s): %w", i+1, name, err)
			}
			m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: mediaType, Digest: lf.digest, Size: lf.size})
			img.layers = append(img.layers, lf)
			img.layerSizes = append(img.layerSizes, size)
		}
		data, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		img.manifestData = data
		img.manifestDigest = digest.FromBytes(data)
		for _, tag := range entry.RepoTags {
			ref, err := store.ParseTag(tag)
			if err != nil {
				return nil, fmt.Errorf("manifest.json: name %q: %w", tag, err)
			}
			img.refs = appendNew(img.refs, ref.String())
		}
		p.images = append(p.images, img)
	}
	return p, nil
}

// addDockerNames adds manifest.json's RepoTags to the images an OCI index
// already described (archives that are both, like Docker's own since v25).
func (st *stagedArchive) addDockerNames(p *loadPlan) error {
	entries, err := st.readDockerManifest()
	if err != nil {
		return err
	}
	for _, entry := range entries {
		cf, ok := st.lookup(entry.Config)
		if !ok {
			continue
		}
		for _, img := range p.images {
			if img.id != cf.digest {
				continue
			}
			for _, tag := range entry.RepoTags {
				if ref, err := store.ParseTag(tag); err == nil {
					img.refs = appendNew(img.refs, ref.String())
				}
			}
		}
	}
	return nil
}

func layerMediaType(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	return layer.DetectCompression(head[:n]).MediaType(), nil
}
