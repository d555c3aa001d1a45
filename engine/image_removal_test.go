package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/opencontainers/go-digest"
)

// A prune planned on one reading of the facts prints the records, in the
// same order, and leaves the same store as the prune that removed images
// one by one and read everything again after each (PruneImagesOneByOne):
// on random stores with chains of parents, shared layers, several names,
// names by digest, containers (running and stopped) and a second manifest
// of one config, images created at the same instant (listed in index
// order), dangling only and all.
func TestPruneImagesMatchesOneByOne(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rootA := rmSeedStore(t, seed)
			rootB := rmCopyStore(t, rootA)
			a, b := rmOpen(t, rootA), rmOpen(t, rootB)
			for _, all := range []bool{false, true} {
				want, wantErr := a.PruneImagesOneByOne(ctx, engine.PruneImagesOptions{All: all})
				got, gotErr := b.PruneImages(ctx, engine.PruneImagesOptions{All: all})
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("all=%v: error %v, one by one %v", all, gotErr, wantErr)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("all=%v: records\n%s\none by one\n%s", all, rmLines(got.Records), rmLines(want.Records))
				}
				rmSameStore(t, a, b)
			}
		})
	}
}

// rmi, which plans the deletion of an image and its parents the same way,
// keeps its records and errors: random names, IDs and name@digest, with
// and without -f and --no-prune, on copies of the same random stores.
func TestRemoveImageMatchesOneByOne(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rootA := rmSeedStore(t, 100+seed)
			rootB := rmCopyStore(t, rootA)
			a, b := rmOpen(t, rootA), rmOpen(t, rootB)
			rng := rand.New(rand.NewPCG(seed, 7))
			for range 8 {
				images, err := a.Images()
				if err != nil {
					t.Fatal(err)
				}
				if len(images) == 0 {
					break
				}
				img := images[rng.IntN(len(images))]
				name := img.ID.Encoded()[:12]
				if len(img.Refs) > 0 && rng.IntN(3) > 0 {
					name = store.Familiar(img.Refs[rng.IntN(len(img.Refs))])
				}
				opts := engine.RemoveImageOptions{Force: rng.IntN(3) == 0, NoPrune: rng.IntN(4) == 0}
				want, wantErr := a.RemoveImageOneByOne(ctx, name, opts)
				got, gotErr := b.RemoveImage(ctx, name, opts)
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("rmi %+v %s: error %v, one by one %v", opts, name, gotErr, wantErr)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("rmi %+v %s: records\n%s\none by one\n%s", opts, name, rmLines(got), rmLines(want))
				}
				rmSameStore(t, a, b)
			}
		})
	}
}

// The records of a hand-built store, spelt out: what `image prune` and
// `image prune -a` print there, in order.
func TestPruneImagesRecords(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	at := time.Unix(1_700_000_000, 0).UTC()
	sec := func(n int) time.Time { return at.Add(time.Duration(n) * time.Second) }
	baseTar := imgLayerTar(t, imgFile{"base", "1"})
	base := imgPutAt(t, e, nil, sec(0), "base", baseTar)
	imgTag(t, e, base, "busybox")
	// A build: two untagged steps and a tagged top, and a dangling
	// leftover of an earlier build of it (its own layer over the first step).
	step1Tar, step2Tar := imgLayerTar(t, imgFile{"s1", "1"}), imgLayerTar(t, imgFile{"s2", "22"})
	step1 := imgPutAt(t, e, base, sec(1), "RUN s1", step1Tar)
	step2 := imgPutAt(t, e, step1, sec(2), "RUN s2", step2Tar)
	top := imgPutAt(t, e, step2, sec(3), "CMD")
	imgTag(t, e, top, "app:1", "app:2")
	oldTar := imgLayerTar(t, imgFile{"old", "333"})
	old := imgPutAt(t, e, step1, sec(4), "RUN old", oldTar)
	// Dangling, sharing the base's layer: only the image goes.
	sameLayer := imgPutAt(t, e, nil, sec(5), "same layer", baseTar)
	// Used by a stopped container: stays, even with -a.
	usedTar := imgLayerTar(t, imgFile{"used", "4444"})
	used := imgPutAt(t, e, nil, sec(6), "used", usedTar)
	c := &store.Container{ID: store.RandomID(), Image: used.ID.String(), State: store.ContainerState{Status: "exited"}}
	if err := e.Store.PutContainer(c); err != nil {
		t.Fatal(err)
	}
	// A pulled copy of the top's config under another manifest and name:
	// one image with two manifests and three names.
	pulled := rmSecondManifest(t, e, top, "registry.example/app:1")

	report, err := e.PruneImages(ctx, engine.PruneImagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chainOld := old.ChainIDs()[2]
	rmWantRecords(t, "image prune", report, []string{
		"Deleted: " + sameLayer.ID.String(),
		"Deleted: " + old.ID.String(),
		"Deleted: " + chainOld.String() + " " + fmt.Sprint(len(oldTar)),
	})
	report, err = e.PruneImages(ctx, engine.PruneImagesOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	chains := step2.ChainIDs()
	rmWantRecords(t, "image prune -a", report, []string{
		"Untagged: app:1",
		"Untagged: app:2",
		"Untagged: registry.example/app:1",
		"Deleted: " + top.ID.String(),
		"Deleted: " + step2.ID.String(),
		"Deleted: " + chains[2].String() + " " + fmt.Sprint(len(step2Tar)),
		"Deleted: " + step1.ID.String(),
		"Deleted: " + chains[1].String() + " " + fmt.Sprint(len(step1Tar)),
		"Untagged: busybox:latest",
		"Deleted: " + base.ID.String(),
		"Deleted: " + chains[0].String() + " " + fmt.Sprint(len(baseTar)),
	})
	if refs := imgRefs(t, e); strings.Join(refs, " ") != "<none>="+used.ShortID() {
		t.Errorf("left: %v", refs)
	}
	if e.Store.HasBlob(pulled) {
		t.Error("the pulled manifest outlived its image")
	}
}

// With -a, an image's names go one by one, as `rmi NAME` of each; a name
// by digest among others is `rmi` of the image by ID, which its remaining
// names refuse: the names before it are untagged, the image stays with
// the rest, and nothing tries it again.
func TestPruneImagesNameByDigestAmongOthers(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "a")
	e, err := engine.Open(root, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
	imgTag(t, e, img, "app:1", "zzz:1")
	rmSecondManifest(t, e, img, "docker.io/library/bydigest@")
	e.Close()
	a, b := rmOpen(t, root), rmOpen(t, rmCopyStore(t, root))
	want, err := a.PruneImagesOneByOne(ctx, engine.PruneImagesOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.PruneImages(ctx, engine.PruneImagesOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if rmLines(got.Records) != "Untagged: app:1" || !reflect.DeepEqual(got, want) {
		t.Errorf("records\n%s\none by one\n%s", rmLines(got.Records), rmLines(want.Records))
	}
	rmSameStore(t, a, b)
	if refs := imgRefs(t, b); len(refs) != 2 || !strings.HasPrefix(refs[0], "bydigest@sha256:") || refs[1] != "zzz:1="+img.ShortID() {
		t.Errorf("left: %v", refs)
	}
}

// A name given to an image the prune decided to delete, between its
// reading of the facts and the removal (another berth process), keeps the
// image: the store refuses the stale removal, and the prune reads and
// decides again. A store that keeps changing makes it give up, having
// removed nothing.
func TestPruneImagesDecidesAgainWhenTheStoreChanged(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	late := imgPut(t, e, nil, "late", imgLayerTar(t, imgFile{"late", "1"}))
	gone := imgPut(t, e, nil, "gone", imgLayerTar(t, imgFile{"gone", "2"}))
	records, err := e.PruneImagesMeanwhile(ctx, engine.PruneImagesOptions{}, func(attempt int) {
		if attempt == 1 {
			imgTag(t, e, late, "late:1")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := rmLines(records); got != "Deleted: "+gone.ID.String()+fmt.Sprintf("\nDeleted: %s %d", gone.ChainIDs()[0], len(imgLayerTar(t, imgFile{"gone", "2"}))) {
		t.Errorf("records:\n%s", got)
	}
	if refs := imgRefs(t, e); strings.Join(refs, " ") != "late:1="+late.ShortID() {
		t.Errorf("left: %v", refs)
	}

	again := imgPut(t, e, nil, "again", imgLayerTar(t, imgFile{"again", "3"}))
	before := imgSnapshot(t, e)
	records, err = e.PruneImagesMeanwhile(ctx, engine.PruneImagesOptions{All: true}, func(attempt int) {
		imgTag(t, e, again, fmt.Sprintf("again:%d", attempt))
	})
	if !errors.Is(err, store.ErrConflict) || records != nil {
		t.Errorf("a store that keeps changing: %v, records %v", err, records)
	}
	after := imgSnapshot(t, e)
	if strings.Join(after.blobs, ",") != strings.Join(before.blobs, ",") {
		t.Error("a prune that gave up removed blobs")
	}
	if refs := imgRefs(t, e); len(refs) != 4 { // again:1 to 3, late:1
		t.Errorf("left: %v", refs)
	}
}

// An interrupt before the removal removes nothing.
func TestPruneImagesInterrupted(t *testing.T) {
	e := imgEngine(t)
	imgPut(t, e, nil, "dangling", imgLayerTar(t, imgFile{"d", "1"}))
	before := imgSnapshot(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	report, err := e.PruneImages(ctx, engine.PruneImagesOptions{All: true})
	if !errors.Is(err, context.Canceled) || len(report.Records) != 0 {
		t.Errorf("interrupted prune = %+v, %v", report, err)
	}
	if !imgSnapshot(t, e).equal(before) {
		t.Error("an interrupted prune changed the store")
	}
}

func rmWantRecords(t *testing.T, verb string, report *engine.PruneReport, want []string) {
	t.Helper()
	var reclaimed int64
	for _, r := range report.Records {
		reclaimed += r.Size
	}
	if got := rmLines(report.Records); got != strings.Join(want, "\n") {
		t.Errorf("%s:\n%s\nwant\n%s", verb, got, strings.Join(want, "\n"))
	}
	if report.Reclaimed != reclaimed {
		t.Errorf("%s: reclaimed %d, the records add up to %d", verb, report.Reclaimed, reclaimed)
	}
}

// rmLines writes records one a line, as `rmi` prints them, with a deleted
// layer's size.
func rmLines(records []engine.RemoveRecord) string {
	var lines []string
	for _, r := range records {
		switch {
		case r.Untagged != "":
			lines = append(lines, "Untagged: "+r.Untagged)
		case r.Size != 0:
			lines = append(lines, fmt.Sprintf("Deleted: %s %d", r.Deleted, r.Size))
		default:
			lines = append(lines, "Deleted: "+r.Deleted)
		}
	}
	return strings.Join(lines, "\n")
}

// rmSecondManifest lists img's config under a second manifest (as a pull
// of the same image from a registry would) named ref, and returns that
// manifest's digest.
func rmSecondManifest(t *testing.T, e *engine.Engine, img *store.Image, ref string) digest.Digest {
	t.Helper()
	m := img.Manifest
	m.Annotations = map[string]string{"org.example.copy": ref}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(ref, "@") {
		ref += digest.FromBytes(data).String()
	}
	sizes, _ := img.LayerSizes()
	if _, err := e.Store.ImportManifest(data, store.ImportOptions{Ref: ref, LayerSizes: sizes}); err != nil {
		t.Fatal(err)
	}
	return digest.FromBytes(data)
}

// rmSeedStore makes a random store for seed and returns its root.
func rmSeedStore(t *testing.T, seed uint64) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "a")
	e, err := engine.Open(root, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rng := rand.New(rand.NewPCG(seed, 1))
	var layers [][]byte // a pool, so that unrelated images share layers
	for i := range 4 {
		layers = append(layers, imgLayerTar(t, imgFile{"pool", strings.Repeat("p", i+1)}))
	}
	names := []string{"app:1", "app:2", "lib:latest", "x/y:z", "busybox", "tool:v1"}
	at := time.Unix(1_700_000_000, 0).UTC()
	var images []*store.Image
	for i := range 6 + rng.IntN(20) {
		var parent *store.Image
		if len(images) > 0 && rng.IntN(10) < 7 {
			parent = images[rng.IntN(len(images))]
		}
		var layer [][]byte
		switch rng.IntN(4) {
		case 0: // a metadata step: the parent's layers only
			if parent == nil {
				layer = append(layer, layers[rng.IntN(len(layers))])
			}
		case 1:
			layer = append(layer, layers[rng.IntN(len(layers))])
		default:
			layer = append(layer, imgLayerTar(t, imgFile{"own", fmt.Sprint(seed, "-", i)}))
		}
		// Few distinct instants: many images tie, and are listed in index order.
		img := imgPutAt(t, e, parent, at.Add(time.Duration(rng.IntN(5))*time.Second), fmt.Sprint("step ", i), layer...)
		images = append(images, img)
		if rng.IntN(10) < 4 {
			for range 1 + rng.IntN(2) {
				imgTag(t, e, img, names[rng.IntN(len(names))])
			}
		}
		if rng.IntN(6) == 0 { // unpacked, as a run would leave it
			top := img.ChainIDs()[len(img.Config.RootFS.DiffIDs)-1] // every image has a layer here
			if _, err := os.Stat(filepath.Join(e.Store.LayersDir(), top.Encoded())); err != nil {
				if err := e.Store.CreateLayerDir(top, func(dir string) error {
					return os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for range rng.IntN(3) {
		img := images[rng.IntN(len(images))]
		status := "exited"
		if rng.IntN(2) == 0 {
			status = "running"
		}
		var chains []string
		for _, c := range img.ChainIDs() {
			chains = append(chains, c.String())
		}
		c := &store.Container{ID: store.RandomID(), Image: img.ID.String(), LayerChainIDs: chains, State: store.ContainerState{Status: status}}
		if err := e.Store.PutContainer(c); err != nil {
			t.Fatal(err)
		}
	}
	// Second manifests of one config: pulled under a name, or by digest.
	for i := range rng.IntN(3) {
		img := images[rng.IntN(len(images))]
		ref := fmt.Sprintf("registry.example/pulled:%d", i)
		if rng.IntN(2) == 0 {
			// Sorted among the other names, not after them all.
			ref = fmt.Sprintf("docker.io/library/bydigest%d@", i)
		}
		rmSecondManifest(t, e, img, ref)
	}
	return root
}

// rmCopyStore copies a closed store, byte for byte.
func rmCopyStore(t *testing.T, root string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "b")
	if out, err := exec.Command("cp", "-a", root, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	return dst
}

func rmOpen(t *testing.T, root string) *engine.Engine {
	t.Helper()
	e, err := engine.Open(root, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		storetest.ValidateAll(t, root)
		e.Close()
	})
	return e
}

// rmSameStore fails unless the two stores list the same images under the
// same names (index.json byte for byte) and hold the same blobs, unpacked
// layers and build cache.
func rmSameStore(t *testing.T, a, b *engine.Engine) {
	t.Helper()
	if sa, sb := imgSnapshot(t, a), imgSnapshot(t, b); sa.index != sb.index {
		t.Fatalf("index.json differs:\n%s\none by one\n%s", sb.index, sa.index)
	}
	for _, dir := range []string{"blobs/sha256", "layers", "cache"} {
		la, lb := rmTree(t, filepath.Join(a.Root(), dir)), rmTree(t, filepath.Join(b.Root(), dir))
		if la != lb {
			t.Fatalf("%s differs:\n%s\none by one\n%s", dir, lb, la)
		}
	}
}

// rmTree lists the paths under dir, sorted.
func rmTree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
