package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// ListedImages lists what Images lists, in the same order, with every
// fact a listing shows, and none of the layers or history it drops.
func TestListedImagesMatchImages(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	base := putImage(t, s, t0, "", makeLayer(t, map[string]string{"a": "1"}))
	child := putImage(t, s, t0.Add(time.Hour), base.ID, makeLayer(t, map[string]string{"b": "2"}))
	putImage(t, s, t0.Add(2*time.Hour), "")
	t3 := t0.Add(3 * time.Hour)
	_, err := s.PutImage(ocispec.Image{Created: &t3, Config: ocispec.ImageConfig{Labels: map[string]string{"k": "v"}},
		RootFS: ocispec.RootFS{Type: "layers"}}, nil, store.ImageOptions{})
	require.NoError(t, err)
	for _, tag := range []struct {
		id   digest.Digest
		name string
	}{{base.ID, "docker.io/library/base:1"}, {child.ID, "docker.io/library/child:1"}, {child.ID, "docker.io/library/child:0"}} {
		if _, err := s.Tag(tag.id, tag.name); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := store.Open(s.Root()) // nothing parsed yet
	require.NoError(t, err)
	defer fresh.Close()
	listed, err := fresh.ListedImages()
	require.NoError(t, err)
	full, err := fresh.Images()
	require.NoError(t, err)
	require.Len(t, listed, len(full))
	for i, want := range full {
		got := listed[i]
		require.Equal(t, want.ID, got.ID)
		require.Equal(t, want.ManifestDigest, got.ManifestDigest)
		require.Equal(t, want.Manifests, got.Manifests)
		require.Equal(t, want.Refs, got.Refs)
		require.Equal(t, want.Parent, got.Parent)
		require.Equal(t, want.Size, got.Size)
		require.Equal(t, want.Created(), got.Created())
		require.Equal(t, want.Config.Config.Labels, got.Labels)
	}
	bare, err := fresh.ListedImagesWithoutLabels()
	require.NoError(t, err)
	require.Len(t, bare, len(listed))
	for i, l := range bare {
		require.Equal(t, listed[i].ID, l.ID)
		require.Nil(t, l.Labels, "read without labels")
	}
	require.Equal(t, []string{"docker.io/library/child:0", "docker.io/library/child:1"}, listed[2].Refs)
	require.Equal(t, map[string]string{"k": "v"}, listed[0].Labels)
}

// A damaged config stops the listing with the error Images gives, never
// a row made of a half-read config.
func TestListedImagesRefusesDamagedConfig(t *testing.T) {
	s := openStore(t)
	img := putImage(t, s, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "", makeLayer(t, map[string]string{"a": "1"}))
	path := s.BlobPath(img.ID)
	require.NoError(t, os.Chmod(path, 0o644))
	require.NoError(t, os.WriteFile(path, []byte(`{"created":"2024-01-01T00:00:00Z"}`), 0o644))
	fresh, err := store.Open(s.Root())
	require.NoError(t, err)
	defer fresh.Close()
	_, err = fresh.ListedImages()
	require.True(t, errors.Is(err, store.ErrInvalidDigest), "err = %v", err)
	_, fullErr := fresh.Images()
	require.EqualError(t, err, fullErr.Error())
}

// A missing manifest or config is ErrNotFound, with the error Images
// gives: readBlobInto opens blobs itself (without the poller), as OpenBlob
// does.
func TestListedImagesMissingBlob(t *testing.T) {
	for _, which := range []string{"manifest", "config"} {
		t.Run(which, func(t *testing.T) {
			s := openStore(t)
			img := putImage(t, s, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "", makeLayer(t, map[string]string{"a": "1"}))
			gone := img.ID
			if which == "manifest" {
				gone = img.ManifestDigest
			}
			require.NoError(t, os.Remove(s.BlobPath(gone)))
			fresh, err := store.Open(s.Root())
			require.NoError(t, err)
			defer fresh.Close()
			_, err = fresh.ListedImages()
			require.ErrorIs(t, err, store.ErrNotFound)
			require.ErrorContains(t, err, gone.String())
			_, fullErr := fresh.Images()
			require.EqualError(t, err, fullErr.Error())
		})
	}
}

// ContainerKeys orders records as Containers does, newest first, and
// skips what Containers skips.
func TestContainerKeysOrderAsContainers(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, at := range []time.Duration{2, 0, 3, 1} {
		c := &store.Container{ID: digest.FromString(string(rune('a' + i))).Encoded(), Name: string(rune('a' + i)), Created: t0.Add(at * time.Hour)}
		require.NoError(t, s.PutContainer(c))
	}
	damaged := digest.FromString("damaged").Encoded()
	require.NoError(t, os.MkdirAll(s.ContainerDir(damaged), 0o755))
	require.NoError(t, os.WriteFile(s.ContainerDir(damaged)+"/config.json", []byte("{not json"), 0o644))
	keys, err := s.ContainerKeys()
	require.NoError(t, err)
	all, err := s.Containers()
	require.NoError(t, err)
	require.Len(t, keys, 4)
	require.Len(t, all, 4)
	for i, c := range all {
		require.Equal(t, c.ID, keys[i].ID)
		require.Equal(t, c.Created, keys[i].Created)
	}
	require.Equal(t, "c", all[0].Name)
}

// TestReadContainersOnceOrderAsKeys: one read per record gives the order
// ContainerKeys gives, ties included (30 records share two creation
// times, so the sort's handling of equal keys shows), hands a damaged
// record whose creation time decodes over as nil in its place, leaves out
// one that is not JSON, a non-directory and a short name, and stops at
// visit's error.
func TestReadContainersOnceOrderAsKeys(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		c := &store.Container{ID: digest.FromString(strconv.Itoa(i)).Encoded(), Name: "c" + strconv.Itoa(i), Created: t0.Add(time.Duration(i%2) * time.Hour)}
		require.NoError(t, s.PutContainer(c))
	}
	write := func(id, record string) {
		require.NoError(t, os.MkdirAll(s.ContainerDir(id), 0o755))
		require.NoError(t, os.WriteFile(s.ContainerDir(id)+"/config.json", []byte(record), 0o644))
	}
	halfDamaged := digest.FromString("half").Encoded()
	write(halfDamaged, `{"created":"2024-01-01T00:30:00Z","state":{"status":7}}`)
	write(digest.FromString("damaged").Encoded(), "{not json")
	write("short", `{"created":"2024-01-01T00:30:00Z"}`)
	require.NoError(t, os.WriteFile(filepath.Join(s.ContainersDir(), digest.FromString("file").Encoded()), []byte("{}"), 0o644))

	keys, err := s.ContainerKeys()
	require.NoError(t, err)
	var visited []*store.Container
	order, err := s.ReadContainersOnce(func(c *store.Container) error {
		visited = append(visited, c)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, keys, 31)
	require.Len(t, order, len(keys))
	for i, k := range keys {
		c := visited[order[i]]
		if k.ID == halfDamaged {
			require.Nil(t, c, "a record ReadContainer refuses is handed over as nil")
			continue
		}
		require.NotNil(t, c, "key %d (%s)", i, k.ID)
		require.Equal(t, k.ID, c.ID, "position %d", i)
	}

	stop := errors.New("stop")
	n := 0
	_, err = s.ReadContainersOnce(func(*store.Container) error {
		n++
		return stop
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n, "no visit after an error")
}
