package store_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/opencontainers/go-digest"
)

// rmFixture is a store with a tagged base, N untagged images over it (each
// with a layer of its own and an unpacked layer dir) and one named image.
type rmFixture struct {
	s          *store.Store
	base, kept *store.Image
	dangling   []*store.Image
}

func newRmFixture(t *testing.T, s *store.Store, n int) *rmFixture {
	t.Helper()
	f := &rmFixture{s: s}
	shared := makeLayer(t, map[string]string{"base": "1"})
	f.base = putImage(t, s, time.Unix(100, 0).UTC(), "", shared)
	if _, err := s.Tag(f.base.ID, "base:1"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		img := putImage(t, s, time.Unix(int64(200+i), 0).UTC(), f.base.ID, shared, makeLayer(t, map[string]string{"own": fmt.Sprint(i)}))
		chain := img.ChainIDs()[1]
		if err := s.CreateLayerDir(chain, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
		}); err != nil {
			t.Fatal(err)
		}
		f.dangling = append(f.dangling, img)
	}
	f.kept = putImage(t, s, time.Unix(50, 0).UTC(), "", makeLayer(t, map[string]string{"kept": "k"}))
	if _, err := s.Tag(f.kept.ID, "kept:1"); err != nil {
		t.Fatal(err)
	}
	return f
}

// deletions deletes every dangling image.
func (f *rmFixture) deletions() []store.ImageRemoval {
	var out []store.ImageRemoval
	for _, img := range f.dangling {
		out = append(out, store.ImageRemoval{ID: img.ID, Delete: true})
	}
	return out
}

// checkGone checks that only the base and the kept image are listed, and
// (collected) that nothing of the deleted ones is left.
func (f *rmFixture) checkGone(t *testing.T, collected bool) {
	t.Helper()
	images, err := f.s.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 2 || images[0].ID != f.base.ID || images[1].ID != f.kept.ID {
		t.Fatalf("listed after the removal: %d images, want base and kept", len(images))
	}
	left := 0
	for _, img := range f.dangling {
		for _, d := range []digest.Digest{img.ManifestDigest, img.ID, img.Manifest.Layers[1].Digest} {
			if f.s.HasBlob(d) {
				left++
			}
		}
		if f.s.HasLayerDir(img.ChainIDs()[1]) {
			left++
		}
	}
	if collected && left > 0 {
		t.Errorf("%d blobs and layer dirs of the deleted images are left", left)
	}
	if !collected && left == 0 {
		t.Errorf("nothing of the deleted images is left to collect")
	}
	for _, d := range []digest.Digest{f.base.ManifestDigest, f.base.ID, f.base.Manifest.Layers[0].Digest, f.kept.Manifest.Layers[0].Digest} {
		if !f.s.HasBlob(d) {
			t.Errorf("blob %s of a kept image was freed", d)
		}
	}
}

// Removing N images rewrites index.json once and walks the store once.
func TestRemoveImagesWritesTheIndexOnce(t *testing.T) {
	s := openStore(t)
	f := newRmFixture(t, s, 20)
	writes := s.IndexWrites()
	unlisted, err := s.RemoveImages(f.deletions())
	if err != nil || !unlisted {
		t.Fatalf("RemoveImages = %v, %v", unlisted, err)
	}
	if n := s.IndexWrites() - writes; n != 1 {
		t.Errorf("%d writes of index.json for 20 images, want 1", n)
	}
	f.checkGone(t, true)
	storetest.ValidateAll(t, s.Root())
	if unlisted, err := s.RemoveImages(nil); unlisted || err != nil {
		t.Errorf("an empty removal = %v, %v; want nothing done", unlisted, err)
	}
}

// Names go with their image, and from an image that stays (which keeps
// its entry, untagged, when it was the last name).
func TestRemoveImagesTakesNames(t *testing.T) {
	s := openStore(t)
	f := newRmFixture(t, s, 2)
	if _, err := s.Tag(f.dangling[0].ID, "gone:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tag(f.dangling[0].ID, "gone:2"); err != nil {
		t.Fatal(err)
	}
	_, err := s.RemoveImages([]store.ImageRemoval{
		{ID: f.dangling[0].ID, Untag: []string{"docker.io/library/gone:1", "docker.io/library/gone:2"}, Delete: true},
		{ID: f.kept.ID, Untag: []string{"docker.io/library/kept:1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	images, err := s.Images()
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, img := range images {
		listed = append(listed, fmt.Sprint(img.ID == f.kept.ID, img.Refs))
	}
	if fmt.Sprint(listed) != "[false [] false [docker.io/library/base:1] true []]" {
		t.Errorf("listed: %v", listed)
	}
	storetest.ValidateAll(t, s.Root())
}

// What the caller read must still hold, or nothing changes: a name given
// to an image since, an image gone since, a name taken or moved since.
func TestRemoveImagesRefusesStaleDecisions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, f *rmFixture) []store.ImageRemoval
		want   string
	}{
		{"tagged since", func(t *testing.T, f *rmFixture) []store.ImageRemoval {
			if _, err := f.s.Tag(f.dangling[1].ID, "new:1"); err != nil {
				t.Fatal(err)
			}
			return f.deletions()
		}, "named new:1"},
		{"gone since", func(t *testing.T, f *rmFixture) []store.ImageRemoval {
			if err := f.s.DeleteImage(f.dangling[1].ID); err != nil {
				t.Fatal(err)
			}
			return f.deletions()
		}, "no longer listed"},
		{"untagged since", func(t *testing.T, f *rmFixture) []store.ImageRemoval {
			if _, err := f.s.Untag("kept:1"); err != nil {
				t.Fatal(err)
			}
			return append(f.deletions(), store.ImageRemoval{ID: f.kept.ID, Untag: []string{"docker.io/library/kept:1"}, Delete: true})
		}, "no longer named kept:1"},
		{"moved since", func(t *testing.T, f *rmFixture) []store.ImageRemoval {
			if _, err := f.s.Tag(f.dangling[0].ID, "kept:1"); err != nil {
				t.Fatal(err)
			}
			return []store.ImageRemoval{{ID: f.kept.ID, Untag: []string{"docker.io/library/kept:1"}, Delete: true}}
		}, "its name kept:1 is on another image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			f := newRmFixture(t, s, 3)
			batch := tc.change(t, f)
			index, err := os.ReadFile(filepath.Join(s.Root(), "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			unlisted, err := s.RemoveImages(batch)
			if unlisted || !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("RemoveImages = %v, %v; want a conflict saying %q", unlisted, err, tc.want)
			}
			after, _ := os.ReadFile(filepath.Join(s.Root(), "index.json"))
			if string(after) != string(index) {
				t.Error("a refused removal changed index.json")
			}
			for _, img := range f.dangling[2:] {
				if !s.HasBlob(img.ManifestDigest) {
					t.Error("a refused removal freed blobs")
				}
			}
			storetest.ValidateAll(t, s.Root())
		})
	}
}

// A removal killed after index.json was written leaves the survivors
// listed and whole, and only garbage of the others, which the next GC (or
// `image validate --repair`) removes; killed before, it loses nothing.
func TestRemoveImagesCrash(t *testing.T) {
	if root := os.Getenv("REMOVE_IMAGES_CHILD"); root != "" {
		s, err := store.Open(root)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var batch []store.ImageRemoval
		images, err := s.Images()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, img := range images {
			if len(img.Refs) == 0 {
				batch = append(batch, store.ImageRemoval{ID: img.ID, Delete: true})
			}
		}
		_, err = s.RemoveImages(batch)
		fmt.Fprintln(os.Stderr, "survived:", err)
		os.Exit(3)
	}
	for _, point := range []string{"write.index.json.before-rename", "rmi.unreferenced"} {
		t.Run(point, func(t *testing.T) {
			root := t.TempDir()
			s, err := store.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			f := newRmFixture(t, s, 10)
			s.Close()

			cmd := exec.Command(os.Args[0], "-test.run", "^TestRemoveImagesCrash$")
			cmd.Env = append(os.Environ(), "REMOVE_IMAGES_CHILD="+root, crashpoint.EnvVar+"="+point)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the removal did not die at %s: %v\n%s", point, err, out)
			}

			s, err = store.Open(root)
			if err != nil {
				t.Fatalf("the store does not open after the crash: %v", err)
			}
			defer s.Close()
			f.s = s
			if point == "write.index.json.before-rename" {
				images := storetest.ValidateAll(t, root)
				if len(images) != 12 {
					t.Errorf("%d images listed after a crash before the index was written, want all 12", len(images))
				}
				return
			}
			f.checkGone(t, false)
			storetest.ValidateAll(t, root)
			g, err := s.Repair()
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Blobs) != 30 || len(g.Layers) != 10 {
				t.Errorf("repair removed %d blobs and %d layer dirs, want 30 and 10", len(g.Blobs), len(g.Layers))
			}
			f.checkGone(t, true)
			storetest.ValidateAll(t, root)
		})
	}
}
