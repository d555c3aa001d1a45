package store_test

import (
	"errors"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// ImagesForRemoval lists what Images lists, in the same order, with every
// fact a removal decides on, read from the blobs (a fresh store) or from
// the images already parsed; and nothing else of the configs.
func TestImagesForRemovalMatchImages(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	base := putImage(t, s, t0, "", makeLayer(t, map[string]string{"a": "1"}))
	child := putImage(t, s, t0.Add(time.Hour), base.ID, makeLayer(t, map[string]string{"b": "2"}), makeLayer(t, map[string]string{"c": "3"}))
	putImage(t, s, t0.Add(2*time.Hour), base.ID, makeLayer(t, map[string]string{"d": "4"}))
	t3 := t0.Add(3 * time.Hour)
	_, err := s.PutImage(ocispec.Image{Created: &t3, Config: ocispec.ImageConfig{Labels: map[string]string{"k": "v"}},
		RootFS: ocispec.RootFS{Type: "layers"}}, nil, store.ImageOptions{})
	require.NoError(t, err)
	for _, tag := range []struct {
		id   digest.Digest
		name string
	}{{base.ID, "docker.io/library/base:1"}, {child.ID, "docker.io/library/child:1"}, {child.ID, "docker.io/library/child:0"}} {
		_, err := s.Tag(tag.id, tag.name)
		require.NoError(t, err)
	}
	for _, parsed := range []bool{false, true} {
		fresh, err := store.Open(s.Root())
		require.NoError(t, err)
		defer fresh.Close()
		full, err := fresh.Images()
		require.NoError(t, err)
		if !parsed {
			fresh.Close()
			fresh, err = store.Open(s.Root()) // nothing parsed yet
			require.NoError(t, err)
			defer fresh.Close()
		}
		lean, err := fresh.ImagesForRemoval()
		require.NoError(t, err)
		require.Len(t, lean, len(full))
		for i, want := range full {
			got := lean[i]
			require.Equal(t, want.ID, got.ID)
			require.Equal(t, want.ManifestDigest, got.ManifestDigest)
			require.Equal(t, want.ManifestSize, got.ManifestSize)
			require.Equal(t, want.Manifests, got.Manifests)
			require.Equal(t, want.Refs, got.Refs)
			require.Equal(t, want.Parent, got.Parent)
			require.Equal(t, want.Size, got.Size)
			require.Equal(t, want.Created(), got.Created())
			require.Equal(t, want.ChainIDs(), got.ChainIDs())
			require.Equal(t, want.Manifest.Config.Digest, got.Manifest.Config.Digest)
			require.Len(t, got.Manifest.Layers, len(want.Manifest.Layers))
			for j, l := range want.Manifest.Layers {
				require.Equal(t, l.Digest, got.Manifest.Layers[j].Digest)
				require.Equal(t, l.Size, got.Manifest.Layers[j].Size)
			}
			wantSizes, wantOK := want.LayerSizes()
			gotSizes, gotOK := got.LayerSizes()
			require.Equal(t, wantOK, gotOK)
			require.Equal(t, wantSizes, gotSizes)
			// Nothing a removal does not read.
			require.Nil(t, got.Config.Config.Labels)
			require.Nil(t, got.Config.Config.Cmd)
			require.Nil(t, got.Config.History)
		}
		require.Equal(t, []string{"docker.io/library/child:0", "docker.io/library/child:1"}, lean[2].Refs)
		require.Equal(t, base.ID, lean[1].Parent)
		require.Equal(t, base.ID, lean[2].Parent)
		if !parsed {
			// Two images on one base share one copy of its ID.
			require.Same(t, unsafe.StringData(string(lean[1].Parent)), unsafe.StringData(string(lean[2].Parent)))
		}
	}
}

// A damaged config or a missing blob stops the listing with the error
// Images gives.
func TestImagesForRemovalRefusesDamage(t *testing.T) {
	for _, which := range []string{"damaged config", "no manifest", "no config"} {
		t.Run(which, func(t *testing.T) {
			s := openStore(t)
			img := putImage(t, s, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "", makeLayer(t, map[string]string{"a": "1"}))
			switch which {
			case "damaged config":
				path := s.BlobPath(img.ID)
				require.NoError(t, os.Chmod(path, 0o644))
				require.NoError(t, os.WriteFile(path, []byte(`{"created":"2024-01-01T00:00:00Z"}`), 0o644))
			case "no manifest":
				require.NoError(t, os.Remove(s.BlobPath(img.ManifestDigest)))
			default:
				require.NoError(t, os.Remove(s.BlobPath(img.ID)))
			}
			fresh, err := store.Open(s.Root())
			require.NoError(t, err)
			defer fresh.Close()
			_, err = fresh.ImagesForRemoval()
			require.Error(t, err)
			require.True(t, errors.Is(err, store.ErrInvalidDigest) || errors.Is(err, store.ErrNotFound), "err = %v", err)
			_, fullErr := fresh.Images()
			require.EqualError(t, err, fullErr.Error())
		})
	}
}

// RemoveImages works on the parsed index's entries, not copies: it must
// leave that shared value as it was read, whatever it untags or deletes.
func TestRemoveImagesLeavesTheSharedIndex(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	kept := putImage(t, s, t0, "", makeLayer(t, map[string]string{"a": "1"}))
	gone := putImage(t, s, t0.Add(time.Hour), "", makeLayer(t, map[string]string{"b": "2"}))
	_, err := s.Tag(kept.ID, "docker.io/library/kept:1")
	require.NoError(t, err)
	_, err = s.Tag(gone.ID, "docker.io/library/gone:1")
	require.NoError(t, err)
	shared, err := s.SharedIndex()
	require.NoError(t, err)
	before := map[digest.Digest]string{}
	for _, d := range shared.Manifests {
		before[d.Digest] = d.Annotations[ocispec.AnnotationRefName]
	}
	n := len(shared.Manifests)
	unlisted, err := s.RemoveImages([]store.ImageRemoval{
		{ID: kept.ID, Untag: []string{"docker.io/library/kept:1"}},
		{ID: gone.ID, Untag: []string{"docker.io/library/gone:1"}, Delete: true},
	})
	require.NoError(t, err)
	require.True(t, unlisted)
	require.Len(t, shared.Manifests, n)
	for _, d := range shared.Manifests {
		require.Equal(t, before[d.Digest], d.Annotations[ocispec.AnnotationRefName], "the shared entry of %s changed", d.Digest)
	}
	idx, err := s.ReadIndex()
	require.NoError(t, err)
	require.Len(t, idx.Manifests, 1)
	require.Equal(t, kept.ManifestDigest, idx.Manifests[0].Digest)
	require.Empty(t, idx.Manifests[0].Annotations[ocispec.AnnotationRefName])
	_, err = s.Image("docker.io/library/kept:1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Image(gone.ID.String())
	require.ErrorIs(t, err, store.ErrNotFound)
}
