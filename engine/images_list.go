package engine

import (
	"strings"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
)

// listingFacts are the facts ListImages needs, read lightly: the images
// with only what a listing shows (store.ListedImages) and, per image ID,
// how many containers were created from it, counted from each record's
// image field alone. At 10,000 images and containers the full configs and
// records took `berth images` over 100 MiB.
func (e *Engine) listingFacts(labels bool) (*imageFacts, map[digest.Digest]int, error) {
	list := e.Store.ListedImagesWithoutLabels
	if labels {
		list = e.Store.ListedImages
	}
	images, err := list()
	if err != nil {
		return nil, nil, err
	}
	used, err := e.Store.ContainerImages()
	if err != nil {
		return nil, nil, err
	}
	counts := map[digest.Digest]int{}
	for _, image := range used {
		counts[containerImageID(&store.Container{Image: image})]++
	}
	return newImageFacts(groupByID(images), nil), counts, nil
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
