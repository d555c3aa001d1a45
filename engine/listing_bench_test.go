package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// listingN is the store size of the listing benchmarks: N images and N
// stopped containers, as the bench's `store` curve seeds them.
const listingN = 1000

// Guards for `berth images` and `ps -a` over a big store: B/op (bytes
// allocated per listing) is the figure to watch; peak RSS follows it.
//
//	go test -run '^$' -bench Listing -benchtime 20x ./engine

func BenchmarkListingImages(b *testing.B) {
	e := listingEngine(b, listingN)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		list, err := e.ListImages(ctx, engine.ListImagesOptions{})
		if err != nil || len(list) != listingN+1 {
			b.Fatalf("listed %d images (want %d): %v", len(list), listingN+1, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(keptPerRow(b, e), "kept-B/row")
}

// BenchmarkListingImagesCLI is BenchmarkListingImages as `berth images`
// asks: no labels, no container counts (so no container record is read).
func BenchmarkListingImagesCLI(b *testing.B) {
	e := listingEngine(b, listingN)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		list, err := e.ListImages(ctx, engine.ListImagesOptions{NoLabels: true, NoContainers: true})
		if err != nil || len(list) != listingN+1 {
			b.Fatalf("listed %d images (want %d): %v", len(list), listingN+1, err)
		}
	}
}

// keptPerRow is the heap a listing's result holds per row, as the CLI
// asks for it (no labels): what peak RSS grows with at 10,000 images.
// About 500 bytes: a 144-byte store.ListedImage, its ID and manifest
// digest strings, its names, and the row (a store.Image alone was 704).
func keptPerRow(b *testing.B, e *engine.Engine) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	list, err := e.ListImages(context.Background(), engine.ListImagesOptions{NoLabels: true})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(list)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(list))
}

func BenchmarkListingContainers(b *testing.B) {
	e := listingEngine(b, listingN)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		err := e.EachContainer(ctx, true, func(*store.Container) error { n++; return nil })
		if err != nil || n != listingN {
			b.Fatalf("walked %d containers (want %d): %v", n, listingN, err)
		}
	}
}

// BenchmarkListingContainersOnce is BenchmarkListingContainers as `ps`
// without a limit lists: each record read once (CollectContainers),
// against EachContainer's two reads.
func BenchmarkListingContainersOnce(b *testing.B) {
	e := listingEngine(b, listingN)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		names, err := engine.CollectContainers(ctx, e, true, func(c *store.Container) (string, bool, error) { return c.Name, true, nil })
		if err != nil || len(names) != listingN {
			b.Fatalf("collected %d containers (want %d): %v", len(names), listingN, err)
		}
	}
}

// listingEngine is an engine over a store of one base image plus n
// tagged images (a config each) and n stopped containers, all written in
// one index update.
func listingEngine(b testing.TB, n int) *engine.Engine {
	b.Helper()
	e, err := engine.Open(filepath.Join(b.TempDir(), "root"), engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	created := time.Now().UTC()
	base, err := e.Store.PutImage(ocispec.Image{Created: &created, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS: ocispec.RootFS{Type: "layers"}}, nil, store.ImageOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var entries []ocispec.Descriptor
	for i := range n {
		entries = append(entries, listingImage(b, e.Store, base, i))
		c := &store.Container{ID: digest.FromString("container " + strconv.Itoa(i)).Encoded(), Name: fmt.Sprintf("c_%d", i),
			Created: time.Now().UTC(), Image: base.ID.String(), Purpose: "run", Config: store.ContainerConfig{Cmd: []string{"true"}}}
		c.State.Status = "exited"
		if err := e.Store.PutContainer(c); err != nil {
			b.Fatal(err)
		}
	}
	err = e.Store.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests = append(idx.Manifests, entries...)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func listingImage(b testing.TB, s *store.Store, base *store.Image, i int) ocispec.Descriptor {
	cfg := base.Config
	created := time.Now().UTC()
	cfg.Created = &created
	cfg.Config.Labels = map[string]string{"seed": strconv.Itoa(i)}
	data, err := json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	d, err := s.PutBlobBytes(data)
	if err != nil {
		b.Fatal(err)
	}
	m := base.Manifest
	m.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: d, Size: int64(len(data))}
	desc, _, err := s.PutJSON(ocispec.MediaTypeImageManifest, m)
	if err != nil {
		b.Fatal(err)
	}
	desc.Annotations = map[string]string{
		store.AnnotationID: d.String(), store.AnnotationSize: "0",
		store.AnnotationCreated: created.Format(time.RFC3339Nano), ocispec.AnnotationRefName: fmt.Sprintf("docker.io/library/seed:%d", i),
	}
	return desc
}

// EachContainer hands over what ListContainers lists, in its order, and
// stops at its callback's error.
func TestEachContainerMatchesListContainers(t *testing.T) {
	e := listingEngine(t, 5)
	ctx := context.Background()
	list, err := e.ListContainers(ctx, true)
	require.NoError(t, err)
	var walked []string
	require.NoError(t, e.EachContainer(ctx, true, func(c *store.Container) error {
		walked = append(walked, c.Name)
		return nil
	}))
	var listed []string
	for _, c := range list {
		listed = append(listed, c.Name)
	}
	require.Equal(t, []string{"c_4", "c_3", "c_2", "c_1", "c_0"}, listed)
	require.Equal(t, listed, walked)

	running := 0
	require.NoError(t, e.EachContainer(ctx, false, func(*store.Container) error { running++; return nil }))
	require.Zero(t, running, "every container here has exited")

	stop := errors.New("stop")
	n := 0
	err = e.EachContainer(ctx, true, func(*store.Container) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}

// TestListImagesNoContainers: the CLI's listing (NoContainers) reads no
// container record and reports no count; the daemon's (the default) still
// counts each image's containers.
func TestListImagesNoContainers(t *testing.T) {
	e := listingEngine(t, 3)
	ctx := context.Background()
	counts := func(opts engine.ListImagesOptions) map[string]int {
		list, err := e.ListImages(ctx, opts)
		require.NoError(t, err)
		out := map[string]int{}
		for _, row := range list {
			out[row.Repository+":"+row.Tag] = row.Containers
		}
		return out
	}
	full := counts(engine.ListImagesOptions{All: true})
	require.Len(t, full, 4, "the base and three seeds")
	total := 0
	for _, n := range full {
		total += n
	}
	require.Equal(t, 3, total, "three containers on the base image: %v", full)
	for name, n := range counts(engine.ListImagesOptions{All: true, NoContainers: true}) {
		require.Zero(t, n, "%s counts containers under NoContainers", name)
	}
}

// TestCollectContainersAsEach: CollectContainers (one read per record)
// keeps what EachContainer (two reads) hands over, in the same order; a
// listing of running containers only keeps none of these stopped ones;
// and the error returned is keep's first in listing order, not in the
// order the records were read.
func TestCollectContainersAsEach(t *testing.T) {
	e := listingEngine(t, 20)
	ctx := context.Background()
	var want []string
	require.NoError(t, e.EachContainer(ctx, true, func(c *store.Container) error {
		want = append(want, c.Name)
		return nil
	}))
	require.Len(t, want, 20)
	got, err := engine.CollectContainers(ctx, e, true, func(c *store.Container) (string, bool, error) {
		return c.Name, c.Name != want[3], nil
	})
	require.NoError(t, err)
	require.Equal(t, append(slices.Clone(want[:3]), want[4:]...), got, "order, and a container keep declines")

	running, err := engine.CollectContainers(ctx, e, false, func(c *store.Container) (string, bool, error) {
		return c.Name, true, nil
	})
	require.NoError(t, err)
	require.Empty(t, running)

	_, err = engine.CollectContainers(ctx, e, true, func(c *store.Container) (string, bool, error) {
		if c.Name == want[5] || c.Name == want[12] {
			return "", true, errors.New("template: " + c.Name)
		}
		return c.Name, true, nil
	})
	require.EqualError(t, err, "template: "+want[5])

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = engine.CollectContainers(cancelled, e, true, func(c *store.Container) (string, bool, error) {
		return c.Name, true, nil
	})
	require.ErrorIs(t, err, context.Canceled)
}
