package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ListedImage is one image as a listing shows it or filters on it: its
// ID, manifests, names, parent, size, creation time and labels, about 150
// bytes. An *Image (704 bytes with its embedded manifest and config) per
// image made the images of a store of 10,000 7 MB of `berth images`' heap.
type ListedImage struct {
	ID digest.Digest
	// ManifestDigest is the first of Manifests, as in Image.
	ManifestDigest digest.Digest
	Manifests      []digest.Digest
	Refs           []string
	Parent         digest.Digest
	Size           int64
	// CreatedAt is the config's creation time (zero when it has none).
	CreatedAt time.Time
	// Labels are the config's labels; nil when read without them.
	Labels map[string]string
	// RepoDigests are the name@digest forms (AnnotationRepoDigest) of its
	// entries, in the order of Manifests, then of index.json: what
	// RepoDigestIndex gives for its manifests, read in the same pass.
	RepoDigests []string
}

// Created is the config's creation time, as Image.Created.
func (l *ListedImage) Created() time.Time { return l.CreatedAt }

// ShortID is the 12 hex characters Docker shows.
func (l *ListedImage) ShortID() string { return l.ID.Encoded()[:12] }

func (l *ListedImage) addEntry(desc ocispec.Descriptor) {
	if ref := desc.Annotations[ocispec.AnnotationRefName]; ref != "" {
		l.Refs = append(l.Refs, strings.Clone(ref))
	}
	if rd := desc.Annotations[AnnotationRepoDigest]; rd != "" {
		l.RepoDigests = append(l.RepoDigests, strings.Clone(rd))
	}
}

func (img *Image) addEntry(desc ocispec.Descriptor) {
	if ref := desc.Annotations[ocispec.AnnotationRefName]; ref != "" {
		img.Refs = append(img.Refs, strings.Clone(ref))
	}
}
func (l *ListedImage) manifestKey() digest.Digest { return l.ManifestDigest }
func (img *Image) manifestKey() digest.Digest     { return img.ManifestDigest }
func (l *ListedImage) sortRefs()                  { sort.Strings(l.Refs) }
func (img *Image) sortRefs()                      { sort.Strings(img.Refs) }

// listedOf keeps the listed facts of a full image.
func listedOf(img *Image) *ListedImage {
	// Copies of the lists: the listing merges into them, and img may be
	// the store's shared parsed value.
	return &ListedImage{ID: img.ID, ManifestDigest: img.ManifestDigest, Manifests: slices.Clone(img.Manifests),
		Refs: slices.Clone(img.Refs), Parent: img.Parent, Size: img.Size, CreatedAt: img.Created(), Labels: img.Config.Config.Labels}
}

// ListedImages lists the store's images as Images does (one value per
// manifest, newest first, names sorted), each as a ListedImage: it
// decodes one entry's manifest and config, keeps their few facts and drops
// the rest, and streams index.json rather than keeping it (eachIndexEntry).
// The checks of loadImage (layer digests, diff IDs) stay.
func (s *Store) ListedImages() ([]*ListedImage, error) {
	var buf []byte
	return collectImages(s.eachIndexEntry, func(desc ocispec.Descriptor) (*ListedImage, error) {
		return s.loadListedImage(desc, true, &buf)
	})
}

// ListedImagesWithoutLabels is ListedImages for a listing that neither
// shows nor filters on labels (`berth images` without --filter label=):
// Labels stays nil. At 10,000 images, one label each, the maps were 4 of a
// listing's 15 MB.
func (s *Store) ListedImagesWithoutLabels() ([]*ListedImage, error) {
	var buf []byte
	return collectImages(s.eachIndexEntry, func(desc ocispec.Descriptor) (*ListedImage, error) {
		return s.loadListedImage(desc, false, &buf)
	})
}

// imagesWith lists the index's images, loading each manifest once with
// load, from the shared parsed index.
func (s *Store) imagesWith(load func(ocispec.Descriptor) (*Image, error)) ([]*Image, error) {
	return collectImages(s.eachSharedEntry, load)
}

// eachSharedEntry walks the shared parsed index (readIndexForLookup).
func (s *Store) eachSharedEntry(fn func(ocispec.Descriptor) error) error {
	idx, err := s.readIndexForLookup()
	if err != nil {
		return err
	}
	for _, desc := range idx.Manifests {
		if err := fn(desc); err != nil {
			return err
		}
	}
	return nil
}

// listable is an image value collectImages gathers names into.
type listable interface {
	// addEntry takes the names of an entry of its manifest. The strings
	// are copies: an entry's strings share one allocation with the whole
	// entry (decodeEntry), which a name alone would keep.
	addEntry(desc ocispec.Descriptor)
	// manifestKey is the image's own copy of its manifest digest: the
	// key collectImages files it under. The entry's digest would keep the
	// whole entry's bytes (about 500) alive for the listing.
	manifestKey() digest.Digest
	sortRefs()
	Created() time.Time
}

// collectImages lists the images of the entries each walks, loading each
// manifest once with load: newest first, names sorted.
func collectImages[T listable](each func(func(ocispec.Descriptor) error) error, load func(ocispec.Descriptor) (T, error)) ([]T, error) {
	byManifest := map[digest.Digest]T{}
	var order []T
	err := each(func(desc ocispec.Descriptor) error {
		img, seen := byManifest[desc.Digest]
		if !seen {
			var err error
			if img, err = load(desc); err != nil {
				return err
			}
			byManifest[img.manifestKey()] = img
			order = append(order, img)
		}
		img.addEntry(desc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, img := range order {
		img.sortRefs()
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Created().After(order[j].Created()) })
	return order, nil
}

// listedManifest and listedConfig are the fields of a manifest and a
// config that ListedImages keeps or checks.
type listedManifest struct {
	Config ocispec.Descriptor `json:"config"`
	Layers []listedLayer      `json:"layers"`
}

// listedLayer is a layer's descriptor as a listing or a removal reads it.
type listedLayer struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
}

type listedConfig struct {
	listedConfigBase
	Config struct {
		Labels map[string]string `json:"Labels,omitempty"`
	} `json:"config"`
}

// listedConfigBase is listedConfig without the labels: encoding/json skips
// the config field's bytes rather than building a map per image.
type listedConfigBase struct {
	Created *time.Time `json:"created,omitempty"`
	RootFS  struct {
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
}

// loadListedImage reads desc's manifest and config into *buf, one after
// the other (encoding/json copies what it keeps), so a listing reads
// 20,000 blobs at 10,000 images through one buffer instead of
// io.ReadAll's growing ones for each.
func (s *Store) loadListedImage(desc ocispec.Descriptor, labels bool, buf *[]byte) (*ListedImage, error) {
	if _, ok := s.parsed.Load(desc.Digest); ok {
		img, err := s.loadImage(desc) // parsed already: copying it costs nothing more
		if err != nil {
			return nil, err
		}
		l := listedOf(img)
		if !labels {
			l.Labels = nil
		}
		return l, nil
	}
	var cfg listedConfig
	var into any = &cfg
	if !labels {
		into = &cfg.listedConfigBase
	}
	m, _, err := s.readListed(desc, buf, into, &cfg.listedConfigBase)
	if err != nil {
		return nil, err
	}
	// Copies of the entry's strings, which share the whole entry's bytes.
	md := digest.Digest(strings.Clone(string(desc.Digest)))
	img := &ListedImage{ID: m.Config.Digest, ManifestDigest: md, Manifests: []digest.Digest{md}, Labels: cfg.Config.Labels}
	if cfg.Created != nil {
		img.CreatedAt = *cfg.Created
	}
	if p := desc.Annotations[AnnotationParent]; p != "" {
		img.Parent = digest.Digest(strings.Clone(p))
	}
	if n, err := strconv.ParseInt(desc.Annotations[AnnotationSize], 10, 64); err == nil {
		img.Size = n
	}
	return img, nil
}

// readListed reads desc's manifest into m and its config into into (a
// listedConfig, or the listedConfigBase base when labels are not wanted)
// through *buf, with loadImage's checks: every layer digest and diff ID
// valid. n is the manifest's size.
func (s *Store) readListed(desc ocispec.Descriptor, buf *[]byte, into any, base *listedConfigBase) (m listedManifest, n int64, err error) {
	data, err := s.readBlobInto(desc.Digest, buf)
	if err != nil {
		return m, 0, fmt.Errorf("manifest %s listed in index.json: %w (the store is damaged; `berth image validate` tells more)", desc.Digest, err)
	}
	n = int64(len(data))
	if err := decodeListedManifest(data, &m); err != nil {
		return m, 0, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	for _, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil {
			return m, 0, fmt.Errorf("manifest %s listed in index.json: layer digest %q: %v (the store is damaged; `berth image validate` tells more)", desc.Digest, l.Digest, err)
		}
	}
	cfgData, err := s.readBlobInto(m.Config.Digest, buf)
	if err != nil {
		return m, 0, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if err := json.Unmarshal(cfgData, into); err != nil {
		return m, 0, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	for _, d := range base.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return m, 0, fmt.Errorf("config %s: diff ID %q: %v (the store is damaged; `berth image validate` tells more)", m.Config.Digest, d, err)
		}
	}
	return m, n, nil
}

// ContainerImages is the image field of every container record (an ID,
// with or without "sha256:"), decoding only that field: what a listing of
// images counts its containers with.
func (s *Store) ContainerImages() ([]string, error) {
	var out []string
	err := s.eachContainerRecord(func(_ string, data []byte) {
		var c struct {
			Image string `json:"image"`
		}
		if json.Unmarshal(data, &c) == nil {
			out = append(out, c.Image)
		}
	})
	return out, err
}

// readBlobInto is ReadBlob reading into *buf, which it grows as needed and
// leaves holding the blob; the bytes are checked against d the same way.
// It opens the blob as OpenBlob does, without the poller (openRead).
func (s *Store) readBlobInto(d digest.Digest, buf *[]byte) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", d, err)
	}
	f, err := openRead(s.BlobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := (*buf)[:0]
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	*buf = data
	if digest.FromBytes(data) != d {
		return nil, fmt.Errorf("blob %s: %w", d, ErrInvalidDigest)
	}
	return data, nil
}
