package imagearchive

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Source is what Save reads: the store's images and their blobs.
type Source interface {
	Images() ([]*store.Image, error)
	OpenBlob(d digest.Digest) (*os.File, error)
}

// AnnotationContainerdName is the index annotation containerd (and Docker
// with the containerd image store) reads an image's full name from.
const AnnotationContainerdName = "io.containerd.image.name"

// dockerManifestEntry is one entry of a docker-archive's manifest.json.
type dockerManifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

type savedImage struct {
	img  *store.Image
	refs []string // full names
}

// archiveIndexes are the three lists of an archive's images: the OCI
// index, docker's manifest.json and its repositories file.
type archiveIndexes struct {
	index        ocispec.Index
	manifest     []dockerManifestEntry
	repositories map[string]map[string]string
}

// Save writes the named images as one tar that is at the same time an OCI
// image layout and a docker-archive, so `berth load`, `docker load`,
// `podman load` and skopeo's oci-archive: and docker-archive: transports
// all read it. A repository name without a tag saves every tag of it, as
// Docker does; an image ID saves the image without names. Every blob is
// checked against its digest on the way out. The tar is deterministic: the
// same images give the same bytes.
func Save(ctx context.Context, src Source, w io.Writer, names []string) error {
	if len(names) == 0 {
		return errors.New("save: name at least one image")
	}
	saved, err := resolveSave(src, names)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(archiveHeader(dir, tar.TypeDir, 0)); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	if err := saveBlobs(ctx, src, tw, saved); err != nil {
		return err
	}
	if err := writeIndexes(tw, describe(saved)); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// saveBlobs writes every blob of the images once: layers, config, manifest.
func saveBlobs(ctx context.Context, src Source, tw *tar.Writer, saved []*savedImage) error {
	written := map[digest.Digest]bool{}
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
			if err := saveBlob(src, tw, d.Digest); err != nil {
				return fmt.Errorf("save %s: %w", img.ShortID(), err)
			}
			written[d.Digest] = true
		}
	}
	return nil
}

// describe lists the images in the archive's OCI index, manifest.json and
// repositories.
func describe(saved []*savedImage) archiveIndexes {
	out := archiveIndexes{
		index:        ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}},
		repositories: map[string]map[string]string{},
	}
	for _, s := range saved {
		img := s.img
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.ManifestDigest, Size: img.ManifestSize}
		if img.Manifest.MediaType != "" {
			desc.MediaType = img.Manifest.MediaType
		}
		entry := dockerManifestEntry{Config: blobName(img.ID), RepoTags: []string{}}
		for _, l := range img.Manifest.Layers {
			entry.Layers = append(entry.Layers, blobName(l.Digest))
		}
		if len(s.refs) == 0 {
			out.index.Manifests = append(out.index.Manifests, desc)
		}
		for _, full := range s.refs {
			named := desc
			named.Annotations = map[string]string{AnnotationContainerdName: full, ocispec.AnnotationRefName: full}
			out.index.Manifests = append(out.index.Manifests, named)
			entry.RepoTags = append(entry.RepoTags, store.Familiar(full))
			repo, tag := store.SplitFamiliar(full)
			if out.repositories[repo] == nil {
				out.repositories[repo] = map[string]string{}
			}
			out.repositories[repo][tag] = img.ID.Encoded()
		}
		out.manifest = append(out.manifest, entry)
	}
	return out
}

// writeIndexes writes index.json, manifest.json, oci-layout and, when an
// image has a name, repositories.
func writeIndexes(tw *tar.Writer, x archiveIndexes) error {
	files := []struct {
		name string
		v    any
	}{{"index.json", x.index}, {"manifest.json", x.manifest}, {"oci-layout", ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}}}
	if len(x.repositories) > 0 {
		files = append(files, struct {
			name string
			v    any
		}{"repositories", x.repositories})
	}
	for _, f := range files {
		data, err := json.Marshal(f.v)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(archiveHeader(f.name, tar.TypeReg, int64(len(data)))); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return nil
}

func resolveSave(src Source, names []string) ([]*savedImage, error) {
	images, err := src.Images()
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
		if findErr == nil && isIDPrefix(img.ID, name) {
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
func saveBlob(src Source, tw *tar.Writer, d digest.Digest) error {
	f, err := src.OpenBlob(d)
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

// isIDPrefix says whether name is the start of the image ID id, with or
// without "sha256:": such a name saves the image without names.
func isIDPrefix(id digest.Digest, name string) bool {
	return strings.HasPrefix(id.String(), name) || strings.HasPrefix(id.Encoded(), name)
}

// ctxErr returns ctx's error wrapped for the user, or nil.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return nil
}
