package engine

import (
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// Two manifests of one config are one image: one value with both names and
// both manifests, found by ID without an ambiguity error.
func TestGroupByIDMergesManifestsOfOneConfig(t *testing.T) {
	id := digest.FromString("config")
	other := digest.FromString("other config")
	pulled := &store.Image{ID: id, ManifestDigest: digest.FromString("m1"), Manifests: []digest.Digest{digest.FromString("m1")},
		Refs: []string{"127.0.0.1:5000/busybox:latest"}}
	loaded := &store.Image{ID: id, ManifestDigest: digest.FromString("m2"), Manifests: []digest.Digest{digest.FromString("m2")},
		Refs: []string{"docker.io/library/busybox:latest"}, Parent: digest.FromString("parent")}
	unrelated := &store.Image{ID: other, ManifestDigest: digest.FromString("m3"), Manifests: []digest.Digest{digest.FromString("m3")}}

	got := groupByID([]*store.Image{pulled, unrelated, loaded})
	require.Len(t, got, 2)
	require.Equal(t, id, got[0].ID)
	require.Equal(t, pulled.ManifestDigest, got[0].ManifestDigest, "the first manifest stays the image's")
	require.Equal(t, []digest.Digest{digest.FromString("m1"), digest.FromString("m2")}, got[0].Manifests)
	require.Equal(t, []string{"127.0.0.1:5000/busybox:latest", "docker.io/library/busybox:latest"}, got[0].Refs)
	require.Equal(t, loaded.Parent, got[0].Parent)
	require.Len(t, pulled.Refs, 1, "the inputs are not changed")

	// Per-manifest lists (the store's) resolve an ID prefix without ambiguity.
	img, err := store.FindImage([]*store.Image{pulled, loaded}, id.Encoded()[:12])
	require.NoError(t, err)
	require.Equal(t, id, img.ID)
	// name@digest of the second manifest finds the merged image.
	img, err = store.FindImage(got, "busybox@"+digest.FromString("m2").String())
	require.NoError(t, err)
	require.Equal(t, id, img.ID)
}
