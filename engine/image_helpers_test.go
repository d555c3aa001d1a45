package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/berthkit/berth/internal/testenv"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of the image tests; names start with img so they cannot clash
// with other tests of package engine_test.

// imgEngine opens an engine on a fresh root and validates every image in
// it when the test ends.
func imgEngine(t *testing.T) *engine.Engine {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
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

// imgFile is one entry of a test layer: a regular file unless it is a
// directory (name ends in "/") or Typeflag says otherwise.
type imgFile struct {
	name string
	data string
}

// imgLayerTar makes an uncompressed tar from name → content pairs; names
// ending in "/" are directories.
func imgLayerTar(t testing.TB, files ...imgFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, ModTime: time.Unix(1, 0), Typeflag: tar.TypeReg, Size: int64(len(f.data))}
		if strings.HasSuffix(f.name, "/") {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte(f.data))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imgGzip(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

// imgPut stores an image whose layers are the given tars (gzip'd), on top
// of parent (nil for none), with a history entry per layer plus metadata
// entries, and returns it.
func imgPut(t *testing.T, e *engine.Engine, parent *store.Image, createdBy string, layers ...[]byte) *store.Image {
	t.Helper()
	return imgPutAt(t, e, parent, time.Now().UTC(), createdBy, layers...)
}

// imgPutAt is imgPut with the config's creation time given: images
// created at the same instant are listed in index order.
func imgPutAt(t *testing.T, e *engine.Engine, parent *store.Image, created time.Time, createdBy string, layers ...[]byte) *store.Image {
	t.Helper()
	var cfg ocispec.Image
	var descs []ocispec.Descriptor
	var sizes []int64
	var opts store.ImageOptions
	if parent != nil {
		cfg = parent.Config
		cfg.RootFS.DiffIDs = append([]digest.Digest{}, parent.Config.RootFS.DiffIDs...)
		cfg.History = append([]ocispec.History{}, parent.Config.History...)
		descs = append(descs, parent.Manifest.Layers...)
		ps, _ := parent.LayerSizes()
		sizes = append(sizes, ps...)
		opts.Parent = parent.ID
	}
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = &created
	for _, l := range layers {
		blob := imgGzip(l)
		d, n, err := e.Store.PutBlob(bytes.NewReader(blob), "", -1)
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: d, Size: n})
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(l))
		sizes = append(sizes, int64(len(l)))
		cfg.History = append(cfg.History, ocispec.History{Created: &created, CreatedBy: createdBy})
	}
	if len(layers) == 0 {
		cfg.History = append(cfg.History, ocispec.History{Created: &created, CreatedBy: createdBy, EmptyLayer: true})
	}
	cfg.RootFS.Type = "layers"
	opts.LayerSizes = sizes
	img, err := e.Store.PutImage(cfg, descs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// imgTag tags img as name.
func imgTag(t *testing.T, e *engine.Engine, img *store.Image, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := e.TagImage(context.Background(), img.ID.String(), n); err != nil {
			t.Fatal(err)
		}
	}
}

// imgState is a store's observable state: index.json's bytes and the sorted
// list of blobs, unpacked layers and tmp entries.
type imgState struct {
	index string
	blobs []string
	tmp   []string
}

func imgSnapshot(t *testing.T, e *engine.Engine) imgState {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.Root(), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	list := func(dir string) []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, en := range entries {
			out = append(out, en.Name())
		}
		sort.Strings(out)
		return out
	}
	return imgState{index: string(data), blobs: list(filepath.Join(e.Root(), "blobs", "sha256")), tmp: list(e.Store.TmpDir())}
}

func (s imgState) equal(o imgState) bool {
	return s.index == o.index && strings.Join(s.blobs, ",") == strings.Join(o.blobs, ",") && strings.Join(s.tmp, ",") == strings.Join(o.tmp, ",")
}

// imgRefs lists the familiar names in the store, "name=id12", sorted.
func imgRefs(t *testing.T, e *engine.Engine) []string {
	t.Helper()
	images, err := e.Store.Images()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, img := range images {
		if len(img.Refs) == 0 {
			out = append(out, "<none>="+img.ShortID())
		}
		for _, r := range img.Refs {
			out = append(out, store.Familiar(r)+"="+img.ShortID())
		}
	}
	sort.Strings(out)
	return out
}

// imgStaticBusybox returns the host's static busybox or skips.
func imgStaticBusybox(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if testenv.InCI() {
		t.Fatal("CI=true and no busybox: apt-get install busybox-static")
	}
	t.Skip("no busybox on this machine (apt-get install busybox-static)")
	return ""
}
