package engine

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/berthkit/berth/trace"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// AnnotationContainerdName is the index annotation containerd (and Docker
// with the containerd image store) reads an image's full name from.
const AnnotationContainerdName = "io.containerd.image.name"

// dockerManifestEntry is one entry of a docker-archive's manifest.json.
type dockerManifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// --- save ---

type savedImage struct {
	img  *store.Image
	refs []string // full names
}

// Save writes the named images as one tar that is at the same time an OCI
// image layout (oci-layout, index.json, blobs/sha256/...) and a docker-archive
// (manifest.json, repositories), so `berth load`, `docker load`, `podman
// load` and skopeo's oci-archive: and docker-archive: transports all read it.
// A repository name without a tag saves every tag of it, as Docker does; an
// image ID saves the image without names. Every blob is checked against its
// digest on the way out. The tar is deterministic: the same images give the
// same bytes.
func (e *Engine) Save(ctx context.Context, w io.Writer, names []string) error {
	if len(names) == 0 {
		return errors.New("save: name at least one image")
	}
	saved, err := e.resolveSave(names)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	written := map[digest.Digest]bool{}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(archiveHeader(dir, tar.TypeDir, 0)); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	index := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	var manifest []dockerManifestEntry
	repositories := map[string]map[string]string{}
	for _, s := range saved {
		img := s.img
		blobs := append(append([]ocispec.Descriptor{}, img.Manifest.Layers...), img.Manifest.Config,
			ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.ManifestDigest, Size: img.ManifestSize})
		for _, d := range blobs {
			if written[d.Digest] {
				continue
			}
			if err := ctxErr(ctx); err != nil {
				return err
			}
			if err := e.saveBlob(tw, d.Digest); err != nil {
				return fmt.Errorf("save %s: %w", img.ShortID(), err)
			}
			written[d.Digest] = true
		}
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.ManifestDigest, Size: img.ManifestSize}
		if img.Manifest.MediaType != "" {
			desc.MediaType = img.Manifest.MediaType
		}
		entry := dockerManifestEntry{Config: blobName(img.ID), RepoTags: []string{}}
		for _, l := range img.Manifest.Layers {
			entry.Layers = append(entry.Layers, blobName(l.Digest))
		}
		if len(s.refs) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, full := range s.refs {
			named := desc
			named.Annotations = map[string]string{AnnotationContainerdName: full, ocispec.AnnotationRefName: full}
			index.Manifests = append(index.Manifests, named)
			familiar := store.Familiar(full)
			entry.RepoTags = append(entry.RepoTags, familiar)
			repo, tag := store.SplitFamiliar(full)
			if repositories[repo] == nil {
				repositories[repo] = map[string]string{}
			}
			repositories[repo][tag] = img.ID.Encoded()
		}
		manifest = append(manifest, entry)
	}
	files := []struct {
		name string
		v    any
	}{{"index.json", index}, {"manifest.json", manifest}, {"oci-layout", ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}}}
	if len(repositories) > 0 {
		files = append(files, struct {
			name string
			v    any
		}{"repositories", repositories})
	}
	for _, f := range files {
		data, err := json.Marshal(f.v)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(archiveHeader(f.name, tar.TypeReg, int64(len(data)))); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

func (e *Engine) resolveSave(names []string) ([]*savedImage, error) {
	images, err := e.Store.Images()
	if err != nil {
		return nil, err
	}
	var out []*savedImage
	byID := map[digest.Digest]*savedImage{}
	add := func(img *store.Image, full string) {
		s := byID[img.ID]
		if s == nil {
			s = &savedImage{img: img}
			byID[img.ID] = s
			out = append(out, s)
		}
		if full != "" {
			for _, r := range s.refs {
				if r == full {
					return
				}
			}
			s.refs = append(s.refs, full)
		}
	}
	for _, name := range names {
		img, findErr := store.FindImage(images, name)
		if findErr == nil && isImageIDPrefix(img.ID, name) {
			add(img, "")
			continue
		}
		named, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			if findErr != nil {
				return nil, findErr
			}
			return nil, err
		}
		if _, ok := named.(reference.Digested); ok {
			if findErr != nil {
				return nil, findErr
			}
			add(img, "")
			continue
		}
		if reference.IsNameOnly(named) {
			// A bare repository saves all its tags.
			found := false
			for _, candidate := range images {
				for _, full := range candidate.Refs {
					if r, err := reference.ParseNormalizedNamed(full); err == nil && r.Name() == named.Name() {
						add(candidate, full)
						found = true
					}
				}
			}
			if !found {
				return nil, findErr
			}
			continue
		}
		if findErr != nil {
			return nil, findErr
		}
		add(img, named.String())
	}
	return out, nil
}

func blobName(d digest.Digest) string {
	return "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

// archiveHeader is a tar header with fixed owner, mode and time, so the same
// images always give the same archive.
func archiveHeader(name string, typ byte, size int64) *tar.Header {
	mode := int64(0o644)
	if typ == tar.TypeDir {
		mode = 0o755
	}
	return &tar.Header{Name: name, Typeflag: typ, Size: size, Mode: mode, ModTime: time.Unix(0, 0).UTC(), Format: tar.FormatPAX}
}

// saveBlob copies a blob into the archive, checking its digest on the way.
func (e *Engine) saveBlob(tw *tar.Writer, d digest.Digest) error {
	f, err := e.Store.OpenBlob(d)
	if err != nil {
		return fmt.Errorf("blob %s is missing from the store: %w (run `berth image validate`)", d, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(archiveHeader(blobName(d), tar.TypeReg, st.Size())); err != nil {
		return err
	}
	digester := d.Algorithm().Digester()
	if _, err := io.Copy(io.MultiWriter(tw, digester.Hash()), f); err != nil {
		return err
	}
	if got := digester.Digest(); got != d {
		return fmt.Errorf("blob %s in the store is corrupt (it hashes to %s): remove the image and pull, load or build it again", d, got)
	}
	return nil
}

// --- load ---

// LoadedImage is one name (or one unnamed image) a load brought in.
type LoadedImage struct {
	ID digest.Digest
	// Ref is the familiar name ("busybox:latest"), empty for an image
	// loaded without a name.
	Ref string
	// Replaced is the image that had the name before, if another one did.
	Replaced digest.Digest
}

// Load reads an image archive (docker-archive or OCI layout tar, as `berth
// save`, `docker save`, `podman save` and skopeo write them; plain, gzip,
// zstd or bzip2) from r and adds its images to the store. Everything is
// staged under the store's tmp/ and verified first — every blob against its
// digest and size, every layer against its diff ID — and the images and
// their names appear in index.json in one atomic update at the end. A
// truncated, corrupt or foreign archive, a full disk or a kill leaves the
// store as it was (a kill leaves staging files that the next command
// removes).
func (e *Engine) Load(ctx context.Context, r io.Reader) ([]LoadedImage, error) {
	stage, err := e.stageArchive(ctx, r)
	if stage != nil {
		defer os.RemoveAll(stage.dir)
	}
	if err != nil {
		return nil, err
	}
	plan, err := stage.plan(ctx)
	if err != nil {
		return nil, err
	}
	return e.commitLoad(ctx, stage, plan)
}

// stagedArchive is an archive unpacked under tmp/: regular files on disk,
// links as a map, each file's digest computed while it was written.
type stagedArchive struct {
	dir   string
	files map[string]stagedFile
	links map[string]string
}

type stagedFile struct {
	path   string
	digest digest.Digest
	size   int64
}

// openCompressed returns the uncompressed stream of r, which may be a plain
// tar or gzip, zstd or bzip2 compressed.
func openCompressed(r io.Reader, what string) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(6)
	if len(head) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("read %s: %w", what, err)
		}
		return nil, nil, fmt.Errorf("%s is empty: nothing to read", what)
	}
	switch {
	case bytes.HasPrefix(head, []byte("BZh")):
		return bzip2.NewReader(br), func() {}, nil
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, nil, fmt.Errorf("%s is xz-compressed, which berth does not read: decompress it first (xz -d)", what)
	}
	zr, err := layer.Decompress(br)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	return zr, func() { zr.Close() }, nil
}

// archiveError turns a tar or decompression failure into words for the user.
func archiveError(what string, err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s is truncated or corrupt (%v): nothing was loaded; make the archive again", what, err)
	case errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("%s is not a tar archive, or is corrupt (%v): nothing was loaded", what, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%s: no space left on device: nothing was loaded; free some space (berth image prune, berth system df) and try again", what)
	}
	msg := err.Error()
	if strings.Contains(msg, "gzip") || strings.Contains(msg, "flate") || strings.Contains(msg, "zstd") || strings.Contains(msg, "bzip2") {
		return fmt.Errorf("%s is corrupt (%v): nothing was loaded; make the archive again", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (e *Engine) stageArchive(ctx context.Context, r io.Reader) (*stagedArchive, error) {
	const what = "the image archive"
	plain, closeFn, err := openCompressed(r, what)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	dir, err := e.Store.TempDir("load-")
	if err != nil {
		return nil, archiveError(what, err)
	}
	st := &stagedArchive{dir: dir, files: map[string]stagedFile{}, links: map[string]string{}}
	tr := tar.NewReader(plain)
	for first := true; ; first = false {
		if err := ctxErr(ctx); err != nil {
			return st, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if first && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, tar.ErrHeader)) {
				return st, fmt.Errorf("%s is not a tar archive (%v): nothing was loaded", what, err)
			}
			return st, archiveError(what, err)
		}
		name, ok := archivePath(hdr.Name)
		if !ok {
			return st, fmt.Errorf("%s has an unsafe entry %q: it is not an image archive berth will load", what, hdr.Name)
		}
		if name == "" {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeSymlink:
			target := hdr.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			if t, ok := archivePath(target); ok {
				st.links[name] = t
			}
			continue
		case tar.TypeLink:
			if t, ok := archivePath(hdr.Linkname); ok {
				st.links[name] = t
			}
			continue
		case tar.TypeReg: // archive/tar reports old TypeRegA entries as TypeReg
		default:
			// Devices, fifos and the like have no place in an image archive.
			continue
		}
		f, err := st.create(name)
		if err != nil {
			return st, archiveError(what, err)
		}
		digester := digest.Canonical.Digester()
		n, err := io.Copy(io.MultiWriter(f, digester.Hash()), tr)
		if err == nil {
			err = f.Close()
		} else {
			f.Close()
		}
		if err != nil {
			return st, archiveError(what, err)
		}
		st.files[name] = stagedFile{path: f.Name(), digest: digester.Digest(), size: n}
	}
	// Read to the real end: a gzip stream is only known sound at its trailer.
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return st, archiveError(what, err)
	}
	return st, nil
}

// archivePath cleans an archive entry name; ok is false for names that
// climb out ("../x") .
func archivePath(name string) (string, bool) {
	clean := path.Clean("/" + name)
	if strings.Contains(name, "\x00") {
		return "", false
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false
		}
	}
	return strings.TrimPrefix(clean, "/"), true
}

func (st *stagedArchive) create(name string) (*os.File, error) {
	p := filepath.Join(st.dir, "files", filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
}

// lookup finds a file by archive path, following links.
func (st *stagedArchive) lookup(name string) (stagedFile, bool) {
	name, _ = archivePath(name)
	for hops := 0; hops < 16; hops++ {
		if f, ok := st.files[name]; ok {
			return f, true
		}
		target, ok := st.links[name]
		if !ok {
			return stagedFile{}, false
		}
		name = target
	}
	return stagedFile{}, false
}

func (st *stagedArchive) read(name string, max int64) ([]byte, stagedFile, error) {
	f, ok := st.lookup(name)
	if !ok {
		return nil, f, fmt.Errorf("the archive has no %s", name)
	}
	if f.size > max {
		return nil, f, fmt.Errorf("%s in the archive is %d bytes, too big for what it should be", name, f.size)
	}
	data, err := os.ReadFile(f.path)
	return data, f, err
}

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

// commitLoad puts the verified blobs into the store and lists the images
// and names in one index update. On failure the blobs it added are removed.
func (e *Engine) commitLoad(ctx context.Context, st *stagedArchive, p *loadPlan) (loaded []LoadedImage, err error) {
	existing, err := e.Store.Images()
	if err != nil {
		return nil, err
	}
	configOfManifest := map[digest.Digest]digest.Digest{}
	manifestOfConfig := map[digest.Digest]digest.Digest{}
	listed := map[digest.Digest]bool{} // blobs a listed image names: verified when it came in
	for _, img := range existing {
		listed[img.ManifestDigest], listed[img.ID] = true, true
		for _, l := range img.Manifest.Layers {
			listed[l.Digest] = true
		}
		configOfManifest[img.ManifestDigest] = img.ID
		if _, ok := manifestOfConfig[img.ID]; !ok {
			manifestOfConfig[img.ID] = img.ManifestDigest
		}
	}
	var added []digest.Digest
	defer func() {
		if err != nil {
			for _, d := range added {
				_ = e.Store.DeleteBlob(d)
			}
		}
	}()
	put := func(r io.Reader, d digest.Digest, size int64) error {
		if e.Store.HasBlob(d) {
			// A copy no listed image vouches for (left by a killed pull
			// or a deleted image) is reused only if its bytes still
			// match its name; otherwise the archive's copy replaces it.
			if listed[d] || e.Store.VerifyBlob(d, size) == nil {
				return nil
			}
			if err := e.Store.DeleteBlob(d); err != nil {
				return err
			}
		}
		if _, _, err := e.Store.PutBlob(r, d, size); err != nil {
			return err
		}
		added = append(added, d)
		return nil
	}
	for _, img := range p.images {
		if m, ok := manifestOfConfig[img.id]; ok {
			// The store has this image (same config) already: keep its
			// manifest, so the image keeps one identity.
			img.manifestDigest = m
			continue
		}
		for _, l := range img.layers {
			if err := ctxErr(ctx); err != nil {
				return nil, err
			}
			f, err := os.Open(l.path)
			if err != nil {
				return nil, err
			}
			err = put(f, l.digest, l.size)
			f.Close()
			if err != nil {
				return nil, archiveError("load", err)
			}
		}
		if err := put(bytes.NewReader(img.configData), img.id, int64(len(img.configData))); err != nil {
			return nil, archiveError("load", err)
		}
		if err := put(bytes.NewReader(img.manifestData), img.manifestDigest, int64(len(img.manifestData))); err != nil {
			return nil, archiveError("load", err)
		}
		configOfManifest[img.manifestDigest] = img.id
		manifestOfConfig[img.id] = img.manifestDigest
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	crashpoint.Hit("load.blobs-stored")
	now := time.Now().UTC().Format(time.RFC3339Nano)
	err = e.Store.UpdateIndex(func(idx *ocispec.Index) error {
		loaded = loaded[:0]
		configOf := func(m digest.Digest) digest.Digest {
			if id, ok := configOfManifest[m]; ok {
				return id
			}
			data, err := e.Store.ReadBlob(m)
			if err != nil {
				return ""
			}
			var man ocispec.Manifest
			if json.Unmarshal(data, &man) != nil {
				return ""
			}
			configOfManifest[m] = man.Config.Digest
			return man.Config.Digest
		}
		for _, img := range p.images {
			entryIndex := -1
			for i, d := range idx.Manifests {
				if d.Digest == img.manifestDigest {
					entryIndex = i
					break
				}
			}
			if entryIndex < 0 {
				var total int64
				for _, n := range img.layerSizes {
					total += n
				}
				annotations := map[string]string{
					store.AnnotationSize:    fmt.Sprint(total),
					store.AnnotationCreated: now,
				}
				if img.id != "" {
					annotations[store.AnnotationID] = img.id.String()
				}
				if len(img.layerSizes) > 0 {
					annotations[store.AnnotationLayerSizes] = store.FormatLayerSizes(img.layerSizes)
				}
				idx.Manifests = append(idx.Manifests, ocispec.Descriptor{
					MediaType: img.mediaType, Digest: img.manifestDigest, Size: int64(len(img.manifestData)), Annotations: annotations,
				})
				entryIndex = len(idx.Manifests) - 1
			}
			if img.mediaType == "" || idx.Manifests[entryIndex].MediaType == "" {
				idx.Manifests[entryIndex].MediaType = ocispec.MediaTypeImageManifest
			}
			if len(img.refs) == 0 {
				loaded = append(loaded, LoadedImage{ID: img.id})
				continue
			}
			for _, full := range img.refs {
				replaced := tagInIndex(idx, full, img.manifestDigest, configOf)
				loaded = append(loaded, LoadedImage{ID: img.id, Ref: store.Familiar(full), Replaced: replaced})
			}
		}
		return nil
	})
	if err != nil {
		return nil, archiveError("load", err)
	}
	for _, l := range loaded {
		if l.Ref != "" {
			if ref, err := store.ParseTag(l.Ref); err == nil {
				e.emitTag(l.ID, ref.String())
			}
		}
	}
	return loaded, nil
}

// tagInIndex points full at the manifest inside an index being updated,
// moving it from another image (returned) if it had it. The manifest must
// already have an entry.
func tagInIndex(idx *ocispec.Index, full string, manifest digest.Digest, configOf func(digest.Digest) digest.Digest) (replaced digest.Digest) {
	count := map[digest.Digest]int{}
	for _, d := range idx.Manifests {
		count[d.Digest]++
	}
	keep := idx.Manifests[:0]
	for _, d := range idx.Manifests {
		if d.Annotations[ocispec.AnnotationRefName] == full {
			if d.Digest == manifest {
				return "" // already so
			}
			if cfg := configOf(d.Digest); cfg != configOf(manifest) {
				replaced = cfg
			}
			if count[d.Digest] > 1 {
				count[d.Digest]--
				continue // the image keeps another entry
			}
			d.Annotations = cloneAnnotations(d.Annotations)
			delete(d.Annotations, ocispec.AnnotationRefName)
		}
		keep = append(keep, d)
	}
	idx.Manifests = keep
	for i, d := range idx.Manifests {
		if d.Digest == manifest && d.Annotations[ocispec.AnnotationRefName] == "" {
			idx.Manifests[i].Annotations = cloneAnnotations(d.Annotations)
			idx.Manifests[i].Annotations[ocispec.AnnotationRefName] = full
			return replaced
		}
	}
	for _, d := range idx.Manifests {
		if d.Digest == manifest {
			entry := d
			entry.Annotations = cloneAnnotations(d.Annotations)
			entry.Annotations[ocispec.AnnotationRefName] = full
			idx.Manifests = append(idx.Manifests, entry)
			break
		}
	}
	return replaced
}

func cloneAnnotations(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// --- import ---

// ImportOptions are `import`'s flags.
type ImportOptions struct {
	// Ref names the new image (optional).
	Ref string
	// Changes are Dockerfile instructions applied to the config (-c).
	Changes []string
	// Message is the history comment (-m); the default is "Imported from SOURCE".
	Message string
	// Source names where the tarball came from ("-" for stdin).
	Source string
}

// Import makes a one-layer image from a root file system tarball (plain,
// gzip, zstd or bzip2), as `docker import`: the tarball is unpacked safely
// into a scratch directory under tmp/ and written back as a normalised,
// deterministic layer, so hostile entries never reach an image.
func (e *Engine) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*store.Image, error) {
	var tagged reference.NamedTagged
	if opts.Ref != "" {
		var err error
		if tagged, err = store.ParseTag(opts.Ref); err != nil {
			return nil, err
		}
	}
	created := time.Now().UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
	}
	var ext store.ExtConfig
	if err := build.ApplyChanges(&cfg, &ext, opts.Changes); err != nil {
		return nil, err
	}
	msg := opts.Message
	if msg == "" {
		source := opts.Source
		if source == "" {
			source = "-"
		}
		msg = "Imported from " + source
	}
	desc, res, err := e.layerFromRootfs(ctx, r, "the tarball")
	if err != nil {
		return nil, err
	}
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{res.DiffID}}
	cfg.History = []ocispec.History{{Created: &created, Comment: msg}}
	img, err := e.Store.PutImage(cfg, []ocispec.Descriptor{desc}, store.ImageOptions{LayerSizes: []int64{res.UncompressedSize}, Ext: ext})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	e.Emit(trace.Event{Type: trace.Image, Image: &trace.ImageInfo{ID: img.ID.String(), Cmd: cfg.Config.Cmd, Layers: 1}})
	if tagged != nil {
		if _, err := e.Store.Tag(img.ID, tagged.String()); err != nil {
			return img, err
		}
		e.emitTag(img.ID, tagged.String())
		img.Refs = []string{tagged.String()}
	}
	return img, nil
}

// layerFromRootfs unpacks a root file system tarball into a scratch dir
// (whiteouts applied by deletion) and stores it back as a gzip'd layer.
func (e *Engine) layerFromRootfs(ctx context.Context, r io.Reader, what string) (ocispec.Descriptor, *layer.DiffResult, error) {
	plain, closeFn, err := openCompressed(r, what)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	defer closeFn()
	tmp, err := e.Store.TempDir("import-")
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	defer os.RemoveAll(tmp)
	// Say "not a tar" for what is not one, rather than Apply's parse error.
	br := bufio.NewReaderSize(plain, 64<<10)
	// A whole first block is judged by its header; a clean stream shorter
	// than one block is no tar either. A stream that breaks (truncated
	// compression) is left to Apply, which says it is truncated or corrupt.
	head, peekErr := br.Peek(512)
	notTar := len(head) == 512 && !looksLikeTarHeader(head) ||
		len(head) > 0 && len(head) < 512 && errors.Is(peekErr, io.EOF)
	if notTar {
		return ocispec.Descriptor{}, nil, fmt.Errorf("%s is not a tar archive: give a tar (optionally gzip or zstd compressed) of a root file system", what)
	}
	rootfs := filepath.Join(tmp, "rootfs")
	applied, err := layer.Apply(ctx, rootfs, br, layer.ApplyOptions{Whiteouts: layer.WhiteoutDelete, RemoveOnError: true})
	if err != nil {
		return ocispec.Descriptor{}, nil, archiveError(what, unwrapApply(err))
	}
	if applied.Entries == 0 {
		return ocispec.Descriptor{}, nil, fmt.Errorf("%s holds no files: give a tar of a root file system", what)
	}
	pr, pw := io.Pipe()
	var res *layer.DiffResult
	done := make(chan error, 1)
	go func() {
		var err error
		res, err = layer.Diff(ctx, rootfs, pw, layer.DiffOptions{Compression: layer.Gzip})
		pw.CloseWithError(err)
		done <- err
	}()
	d, size, err := e.Store.PutBlob(pr, "", -1)
	pr.CloseWithError(errors.New("ingest stopped"))
	if diffErr := <-done; diffErr != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("write layer: %w", diffErr)
	}
	if err != nil {
		return ocispec.Descriptor{}, nil, archiveError("write layer", err)
	}
	if d != res.Digest {
		return ocispec.Descriptor{}, nil, fmt.Errorf("write layer: stored %s but wrote %s", d, res.Digest)
	}
	e.Emit(trace.Event{Type: trace.Layer, Layer: &trace.LayerInfo{
		DiffID: res.DiffID.String(), Digest: d.String(), Size: size, UncompressedSize: res.UncompressedSize, MediaType: res.MediaType,
	}})
	return ocispec.Descriptor{MediaType: res.MediaType, Digest: d, Size: size}, res, nil
}

// unwrapApply drops Apply's "apply layer to /long/tmp/path:" prefix, which
// names a scratch dir the user never sees, keeping the cause.
// looksLikeTarHeader checks the first 512-byte block the way tar does: a
// valid header checksum (and, for ustar, its magic), or the zero block of an
// empty archive. Only the block itself is read, so a first entry whose PAX
// records fill the next blocks (xattrs, long names) is still recognised.
func looksLikeTarHeader(block []byte) bool {
	if len(block) < 512 {
		return false
	}
	zero := true
	for _, b := range block {
		if b != 0 {
			zero = false
			break
		}
	}
	if zero {
		return true // an empty archive; Apply then finds no files
	}
	field := strings.TrimRight(strings.TrimSpace(string(block[148:156])), "\x00 ")
	want, err := strconv.ParseInt(field, 8, 64)
	if err != nil {
		return false
	}
	var sum int64
	for i, b := range block {
		if i >= 148 && i < 156 {
			b = ' '
		}
		sum += int64(b)
	}
	return sum == want
}

func unwrapApply(err error) error {
	if inner := errors.Unwrap(err); inner != nil && strings.HasPrefix(err.Error(), "apply layer to ") {
		return inner
	}
	return err
}
