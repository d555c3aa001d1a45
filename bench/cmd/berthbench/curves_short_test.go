//go:build linux

package main

import (
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A short point gets shortRunCount runs, decided by its first run; a long
// one keeps the runs asked for, and -runs above shortRunCount stays.
func TestShortRuns(t *testing.T) {
	for _, tc := range []struct {
		runs int
		ms   []float64
		want int
	}{
		{3, nil, 3},
		{3, []float64{15}, shortRunCount},
		{3, []float64{15, 900}, shortRunCount},
		{3, []float64{250}, 3},
		{1, []float64{99.9}, shortRunCount},
		{20, []float64{15}, 20},
	} {
		if got := shortRuns(tc.runs, tc.ms); got != tc.want {
			t.Errorf("shortRuns(%d, %v) = %d, want %d", tc.runs, tc.ms, got, tc.want)
		}
	}
}

// The prune curve's seed: n dangling images, each its own image (a config
// of its own), on busybox, which stays the only named one; seeding again
// lists each image once.
func TestSeedDangling(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1_700_000_000, 0).UTC()
	base, err := s.PutImage(ocispec.Image{Created: &created, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}, nil, store.ImageOptions{})
	if err == nil {
		_, err = s.Tag(base.ID, "busybox")
	}
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := seedDangling(root, 25); err != nil {
			t.Fatal(err)
		}
		s, err := store.Open(root)
		if err != nil {
			t.Fatal(err)
		}
		images, err := s.Images()
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		ids := map[digest.Digest]bool{}
		dangling := 0
		for _, img := range images {
			ids[img.ID] = true
			if len(img.Refs) == 0 && img.Parent == base.ID {
				dangling++
			}
		}
		if len(images) != 26 || len(ids) != 26 || dangling != 25 {
			t.Fatalf("%d images, %d IDs, %d dangling on busybox; want 26, 26, 25", len(images), len(ids), dangling)
		}
	}
}
