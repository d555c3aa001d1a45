package engine

import (
	"slices"
	"strings"

	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// listingFacts are the facts ListImages needs, read lightly: the images
// with only what a listing shows (store.ListedImages; labels only when
// asked), merged by ID as Images merges them, which image IDs have a
// child, and per image ID how many containers were created from it,
// counted from each record's image field alone (only when counts is set;
// otherwise the map is empty). At 10,000 images and containers the full
// configs and records took `berth images` over 100 MiB.
func (e *Engine) listingFacts(labels, counts bool) ([]*store.ListedImage, map[digest.Digest]bool, map[digest.Digest]int, error) {
	list := e.Store.ListedImagesWithoutLabels
	if labels {
		list = e.Store.ListedImages
	}
	images, err := list()
	if err != nil {
		return nil, nil, nil, err
	}
	perImage := map[digest.Digest]int{}
	if counts {
		used, err := e.Store.ContainerImages()
		if err != nil {
			return nil, nil, nil, err
		}
		for _, image := range used {
			perImage[containerImageID(&store.Container{Image: image})]++
		}
	}
	images = groupListedByID(images)
	children := map[digest.Digest]bool{}
	for _, img := range images {
		if img.Parent != "" {
			children[img.Parent] = true
		}
	}
	return images, children, perImage, nil
}

// groupListedByID is groupByID for listed images, which the listing owns:
// the first (newest) value of an ID takes the others' names and manifests.
func groupListedByID(images []*store.ListedImage) []*store.ListedImage {
	at := map[digest.Digest]*store.ListedImage{}
	out := images[:0]
	for _, img := range images {
		first := at[img.ID]
		if first == nil {
			at[img.ID] = img
			out = append(out, img)
			continue
		}
		first.Refs = append(first.Refs, img.Refs...)
		first.Manifests = append(first.Manifests, img.Manifests...)
		first.RepoDigests = append(first.RepoDigests, img.RepoDigests...)
		if first.Parent == "" {
			first.Parent = img.Parent
		}
	}
	for _, img := range out {
		slices.Sort(img.Refs)
	}
	return out
}

// hasLabelFilter reports whether filters hold a label= filter (the key is
// matched as parseImageFilters matches it).
func hasLabelFilter(filters []string) bool {
	for _, spec := range filters {
		if key, _, _ := strings.Cut(spec, "="); strings.EqualFold(key, "label") {
			return true
		}
	}
	return false
}

// repoDigestOf is the digest a registry knows img by under ref's
// repository (the last of img's RepoDigests there), or "".
func repoDigestOf(img *store.ListedImage, ref reference.Named) digest.Digest {
	var d digest.Digest
	for _, rd := range img.RepoDigests {
		parsed, err := reference.ParseNormalizedNamed(rd)
		if canonical, ok := parsed.(reference.Canonical); err == nil && ok && canonical.Name() == ref.Name() {
			d = canonical.Digest()
		}
	}
	return d
}
