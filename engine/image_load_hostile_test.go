//go:build linux

package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// hostileOCI is an OCI layout archive of one single-layer image, made by
// hand so each case can change any part of it and keep the rest coherent.
type hostileOCI struct {
	layer     []byte // the layer blob as stored
	mediaType string
	diffID    digest.Digest
	// changeConfig and changeManifest run before the blobs are named.
	changeConfig   func(cfg *ocispec.Image)
	changeManifest func(m *ocispec.Manifest)
	// changeIndex runs on index.json's entries.
	changeIndex func(d *ocispec.Descriptor)
	// rawManifest replaces the manifest's bytes.
	rawManifest func(data []byte) []byte
}

func (h hostileOCI) archive(t *testing.T) []byte {
	t.Helper()
	created := time.Unix(1, 0).UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{h.diffID}},
	}
	if h.changeConfig != nil {
		h.changeConfig(&cfg)
	}
	cfgData, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfgData), Size: int64(len(cfgData))},
		Layers:    []ocispec.Descriptor{{MediaType: h.mediaType, Digest: digest.FromBytes(h.layer), Size: int64(len(h.layer))}},
	}
	if h.changeManifest != nil {
		h.changeManifest(&m)
	}
	mData, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if h.rawManifest != nil {
		mData = h.rawManifest(mData)
	}
	entry := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mData), Size: int64(len(mData)),
		Annotations: map[string]string{ocispec.AnnotationRefName: "docker.io/library/hostile:1"}}
	if h.changeIndex != nil {
		h.changeIndex(&entry)
	}
	idx, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{entry}})
	return imgArchive(t,
		imgEntry{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		imgEntry{name: "index.json", data: idx},
		imgEntry{name: "blobs/sha256/" + digest.FromBytes(mData).Encoded(), data: mData},
		imgEntry{name: "blobs/sha256/" + digest.FromBytes(cfgData).Encoded(), data: cfgData},
		imgEntry{name: "blobs/sha256/" + digest.FromBytes(h.layer).Encoded(), data: h.layer},
	)
}

// rawTar makes a tar whose entries are exactly the headers given (names
// that climb out included), each with its body.
func rawTar(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		body := []byte(strings.Repeat("x", int(h.Size)))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every hostile OCI archive is refused with an error that names the limit
// or the mismatch, and the store stays exactly as it was: no blob, no name.
func TestLoadHostileOCI(t *testing.T) {
	plain := imgLayerTar(t, imgFile{"etc/hostname", "berth\n"})
	gz := imgGzip(plain)
	sound := func() hostileOCI {
		return hostileOCI{layer: gz, mediaType: ocispec.MediaTypeImageLayerGzip, diffID: digest.FromBytes(plain)}
	}
	climbing := rawTar(t, &tar.Header{Name: "../../escape", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	notTar := bytes.Repeat([]byte("not a tar "), 100)
	cases := []struct {
		name   string
		change func(h *hostileOCI)
		want   string
	}{
		{"diff ID mismatch", func(h *hostileOCI) { h.diffID = digest.FromString("lie") }, "the config says " + digest.FromString("lie").String()},
		{"truncated gzip layer", func(h *hostileOCI) { h.layer = gz[:len(gz)/2] }, "layer 1"},
		{"layer that climbs out", func(h *hostileOCI) {
			h.layer, h.mediaType, h.diffID = climbing, ocispec.MediaTypeImageLayer, digest.FromBytes(climbing)
		}, `it cannot be unpacked: unsafe layer entry "../../escape": climbs out of the root`},
		{"layer that is not a tar", func(h *hostileOCI) {
			h.layer, h.mediaType, h.diffID = notTar, ocispec.MediaTypeImageLayer, digest.FromBytes(notTar)
		}, "not a well-formed tar"},
		{"media type lies about compression", func(h *hostileOCI) { h.mediaType = ocispec.MediaTypeImageLayerZstd }, "says zstd but the blob is gzip"},
		{"unknown layer media type", func(h *hostileOCI) { h.mediaType = "application/x-evil" }, "not a layer type berth knows"},
		{"wrong layer size", func(h *hostileOCI) {
			h.changeManifest = func(m *ocispec.Manifest) { m.Layers[0].Size++ }
		}, "its descriptor says"},
		{"malformed layer digest", func(h *hostileOCI) {
			h.changeManifest = func(m *ocispec.Manifest) { m.Layers[0].Digest = "sha256:1234" }
		}, `digest "sha256:1234" is malformed`},
		{"config over the limit", func(h *hostileOCI) {
			h.changeManifest = func(m *ocispec.Manifest) { m.Config.Size = store.MaxConfigSize + 1 }
		}, "over berth's limit of 8388608 bytes"},
		{"config not an image config", func(h *hostileOCI) {
			h.changeConfig = func(c *ocispec.Image) { c.RootFS.Type = "helm" }
		}, `rootfs.type "helm", not "layers"`},
		{"manifest over the limit", func(h *hostileOCI) {
			h.rawManifest = func(data []byte) []byte {
				return append(data[:len(data)-1], []byte(`,"annotations":{"pad":"`+strings.Repeat("a", store.MaxManifestSize)+`"}}`)...)
			}
		}, "over berth's limit of 4194304 bytes (4 MiB)"},
		{"manifest not JSON", func(h *hostileOCI) {
			h.rawManifest = func([]byte) []byte { return []byte("<html>") }
		}, "manifest is not valid JSON"},
		{"index entry with a path for a digest", func(h *hostileOCI) {
			h.changeIndex = func(d *ocispec.Descriptor) { d.Digest = "sha256:../../../etc/passwd" }
		}, "is malformed"},
		{"index entry of another algorithm", func(h *hostileOCI) {
			h.changeIndex = func(d *ocispec.Descriptor) { d.Digest = digest.SHA512.FromString("x") }
		}, "berth stores sha256 content only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := sound()
			c.change(&h)
			e := imgEngine(t)
			before := imgSnapshot(t, e)
			_, err := e.Load(context.Background(), bytes.NewReader(h.archive(t)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "nothing was loaded") {
				t.Errorf("error does not say nothing was loaded: %v", err)
			}
			if after := imgSnapshot(t, e); !after.equal(before) {
				t.Errorf("a failed load changed the store:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
	// The control: the sound archive loads.
	e := imgEngine(t)
	loaded, err := e.Load(context.Background(), bytes.NewReader(sound().archive(t)))
	if err != nil || len(loaded) != 1 || loaded[0].Ref != "hostile:1" {
		t.Fatalf("sound archive: %v %+v", err, loaded)
	}
}

// A blob already in the store that no image names (a killed pull's, or a
// damaged one) is not trusted by load: a damaged copy is replaced by the
// archive's, so the loaded image validates.
func TestLoadReplacesDamagedStoredBlob(t *testing.T) {
	plain := imgLayerTar(t, imgFile{"etc/hostname", "berth\n"})
	gz := imgGzip(plain)
	h := hostileOCI{layer: gz, mediaType: ocispec.MediaTypeImageLayerGzip, diffID: digest.FromBytes(plain)}
	e := imgEngine(t)
	d := digest.FromBytes(gz)
	if _, _, err := e.Store.PutBlob(bytes.NewReader(gz), d, int64(len(gz))); err != nil {
		t.Fatal(err)
	}
	// Damage the stored copy in place, keeping its size.
	damaged := bytes.Repeat([]byte{'z'}, len(gz))
	if err := writeOver(e.Store.BlobPath(d), damaged); err != nil {
		t.Fatal(err)
	}
	loaded, err := e.Load(context.Background(), bytes.NewReader(h.archive(t)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.Store.Image(loaded[0].ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Validate(e.Store, img); err != nil {
		t.Fatalf("loaded image does not validate: %v", err)
	}
	if err := e.Store.VerifyBlob(d, int64(len(gz))); errors.Is(err, store.ErrInvalidDigest) || err != nil {
		t.Fatalf("stored copy still damaged: %v", err)
	}
}

// writeOver replaces a file's content in place (a blob is read-only).
func writeOver(path string, data []byte) error {
	if err := os.Chmod(path, 0o644); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// FuzzLoad feeds arbitrary archives to Load: no input may panic, and
// whatever loads validates (the store's validator recomputes every digest
// and diff ID).
func FuzzLoad(f *testing.F) {
	plain := imgLayerTar(&testing.T{}, imgFile{"etc/hostname", "berth\n"})
	gz := imgGzip(plain)
	sound := hostileOCI{layer: gz, mediaType: ocispec.MediaTypeImageLayerGzip, diffID: digest.FromBytes(plain)}
	f.Add(sound.archive(&testing.T{}))
	f.Add(imgDockerArchive(&testing.T{}, plain))
	f.Add(imgGzip(imgDockerArchive(&testing.T{}, plain)))
	e, err := engine.Open(f.TempDir(), engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, archive []byte) {
		loaded, err := e.Load(context.Background(), bytes.NewReader(archive))
		if err != nil {
			return
		}
		for _, l := range loaded {
			img, err := e.Store.Image(l.ID.String())
			if err != nil {
				t.Fatalf("loaded image %s is not listed: %v", l.ID, err)
			}
			if err := store.Validate(e.Store, img); err != nil {
				t.Fatalf("loaded image does not validate: %v", err)
			}
		}
	})
}
