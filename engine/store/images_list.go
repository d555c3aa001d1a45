package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ListedImages lists the store's images as Images does (one value per
// manifest, newest first, names sorted), but each value holds only what a
// listing shows or filters on: ID, manifests, names, parent, size, the
// config's creation time and labels (no annotations, layers or other
// config fields). A store of 10,000
// images held every full manifest and config at once (over 100 MiB for
// `berth images`); this decodes one entry's JSON, keeps its few facts and
// drops the rest. The checks of loadImage (layer digests, diff IDs) stay.
func (s *Store) ListedImages() ([]*Image, error) {
	return s.collectImages(s.eachIndexEntry, func(desc ocispec.Descriptor) (*Image, error) {
		return s.loadListedImage(desc, true)
	})
}

// imagesWith lists the index's images, loading each manifest once with
// load, from the shared parsed index.
func (s *Store) imagesWith(load func(ocispec.Descriptor) (*Image, error)) ([]*Image, error) {
	return s.collectImages(s.eachSharedEntry, load)
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

// collectImages lists the images of the entries each walks, loading each
// manifest once with load.
func (s *Store) collectImages(each func(func(ocispec.Descriptor) error) error, load func(ocispec.Descriptor) (*Image, error)) ([]*Image, error) {
	byManifest := map[digest.Digest]*Image{}
	var order []*Image
	err := each(func(desc ocispec.Descriptor) error {
		img := byManifest[desc.Digest]
		if img == nil {
			var err error
			if img, err = load(desc); err != nil {
				return err
			}
			byManifest[desc.Digest] = img
			order = append(order, img)
		}
		if ref := desc.Annotations[ocispec.AnnotationRefName]; ref != "" {
			// A copy: the entry's strings share one allocation with the
			// whole entry (decodeEntry), which a name alone would keep.
			img.Refs = append(img.Refs, strings.Clone(ref))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, img := range order {
		sort.Strings(img.Refs)
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Created().After(order[j].Created()) })
	return order, nil
}

// listedManifest and listedConfig are the fields of a manifest and a
// config that ListedImages keeps or checks.
type listedManifest struct {
	Config ocispec.Descriptor `json:"config"`
	Layers []struct {
		Digest digest.Digest `json:"digest"`
	} `json:"layers"`
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

// ListedImagesWithoutLabels is ListedImages for a listing that neither
// shows nor filters on labels (`berth images` without --filter label=):
// each image's Config.Config.Labels is left nil. At 10,000 images, one
// label each, the maps were 4 of a listing's 15 MB.
func (s *Store) ListedImagesWithoutLabels() ([]*Image, error) {
	return s.collectImages(s.eachIndexEntry, func(desc ocispec.Descriptor) (*Image, error) {
		return s.loadListedImage(desc, false)
	})
}

func (s *Store) loadListedImage(desc ocispec.Descriptor, labels bool) (*Image, error) {
	if _, ok := s.parsed.Load(desc.Digest); ok {
		return s.loadImage(desc) // parsed already: copying it costs nothing more
	}
	data, err := s.ReadBlob(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("manifest %s listed in index.json: %w (the store is damaged; `berth image validate` tells more)", desc.Digest, err)
	}
	var m listedManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	for _, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("manifest %s listed in index.json: layer digest %q: %v (the store is damaged; `berth image validate` tells more)", desc.Digest, l.Digest, err)
		}
	}
	cfgData, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	var cfg listedConfig
	var into any = &cfg
	if !labels {
		into = &cfg.listedConfigBase
	}
	if err := json.Unmarshal(cfgData, into); err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	for _, d := range cfg.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("config %s: diff ID %q: %v (the store is damaged; `berth image validate` tells more)", m.Config.Digest, d, err)
		}
	}
	// Copies of the entry's strings, which share the whole entry's bytes.
	md := digest.Digest(strings.Clone(string(desc.Digest)))
	img := &Image{ID: m.Config.Digest, ManifestDigest: md, ManifestSize: int64(len(data)),
		Manifests: []digest.Digest{md}}
	img.Manifest.Config = m.Config
	img.Config.Created = cfg.Created
	img.Config.Config.Labels = cfg.Config.Labels
	if p := desc.Annotations[AnnotationParent]; p != "" {
		img.Parent = digest.Digest(strings.Clone(p))
	}
	if n, err := strconv.ParseInt(desc.Annotations[AnnotationSize], 10, 64); err == nil {
		img.Size = n
	}
	return img, nil
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
