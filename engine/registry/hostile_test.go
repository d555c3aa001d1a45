package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// craftedRegistry answers exactly what a test put in it, as a hostile
// registry would: manifests by tag or digest, blobs by digest, whatever
// their content.
type craftedRegistry struct {
	Host      string
	manifests map[string]craftedManifest
	blobs     map[string][]byte
}

type craftedManifest struct {
	mediaType string
	data      []byte
}

func newCraftedRegistry(t *testing.T) *craftedRegistry {
	t.Helper()
	cr := &craftedRegistry{manifests: map[string]craftedManifest{}, blobs: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		switch {
		case path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.HasPrefix(path, "/v2/evil/manifests/"):
			m, ok := cr.manifests[strings.TrimPrefix(path, "/v2/evil/manifests/")]
			if !ok {
				http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", m.mediaType)
			w.Write(m.data)
		case strings.HasPrefix(path, "/v2/evil/blobs/"):
			b, ok := cr.blobs[strings.TrimPrefix(path, "/v2/evil/blobs/")]
			if !ok {
				http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}`, http.StatusNotFound)
				return
			}
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	cr.Host = strings.TrimPrefix(srv.URL, "http://")
	return cr
}

// serve lists a fixture: its blobs by digest, its manifest as "latest".
func (cr *craftedRegistry) serve(f *fixtureImage) {
	for _, l := range f.Layers {
		cr.blobs[l.Digest.String()] = l.Blob
	}
	cr.blobs[f.ID.String()] = f.Config
	cr.manifests["latest"] = craftedManifest{f.ManifestType, f.Manifest}
}

// hostileCase changes a sound fixture into what a hostile registry serves.
type hostileCase struct {
	name string
	// craft changes the fixture's manifest (decoded) and what is served.
	craft func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest)
	// raw, when set, replaces the manifest bytes after craft.
	raw  func(m []byte) []byte
	kind error
	want string
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{name: "layer bytes do not match digest", kind: ErrDigestMismatch, want: "filesystem layer verification failed for digest",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				cr.blobs[f.Layers[1].Digest.String()] = bytes.Repeat([]byte{'x'}, len(f.Layers[1].Blob))
			}},
		{name: "layer longer than its size", kind: ErrDigestMismatch, want: "is longer than the",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				cr.blobs[f.Layers[0].Digest.String()] = append(append([]byte{}, f.Layers[0].Blob...), make([]byte, 1<<20)...)
			}},
		{name: "manifest announces the wrong size", kind: ErrDigestMismatch, want: "bytes, not the",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Layers[0].Size += 10
			}},
		{name: "negative size", kind: store.ErrInvalidImage, want: "size -5 is negative",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Layers[1].Size = -5
			}},
		{name: "malformed layer digest", kind: store.ErrInvalidImage, want: `digest "sha256:abc" is malformed`,
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Layers[0].Digest = "sha256:abc"
			}},
		{name: "path in a digest", kind: store.ErrInvalidImage, want: "is malformed",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Config.Digest = "sha256:../../../../etc/passwd"
			}},
		{name: "config digest not sha256", kind: store.ErrInvalidImage, want: "berth stores sha256 content only",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Config.Digest = digest.SHA512.FromBytes(f.Config)
			}},
		{name: "config over the limit", kind: store.ErrInvalidImage, want: "over berth's limit of 8388608 bytes",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Config.Size = store.MaxConfigSize + 1
			}},
		{name: "manifest over the limit", kind: ErrInvalid, want: "over berth's limit of 4194304 bytes (4 MiB)",
			raw: func(m []byte) []byte {
				return append(bytes.TrimRight(m, "}\n "), []byte(`,"annotations":{"pad":"`+strings.Repeat("a", store.MaxManifestSize)+`"}}`)...)
			}},
		{name: "manifest not JSON", kind: store.ErrInvalidImage, want: "manifest is not valid JSON",
			raw: func(m []byte) []byte {
				return append([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`), m[:40]...)
			}},
		{name: "manifest media type unknown", kind: ErrUnsupported, want: `is a "text/html", not an image berth can pull`,
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.MediaType = "text/html"
			}},
		{name: "config media type not an image config", kind: store.ErrInvalidImage, want: "not an image config: it is not a container image",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Config.MediaType = "application/vnd.cncf.helm.config.v1+json"
			}},
		{name: "layer media type unknown", kind: store.ErrInvalidImage, want: `media type "application/x-evil", not a layer type berth knows`,
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Layers[1].MediaType = "application/x-evil"
			}},
		{name: "layer media type lies about compression", kind: store.ErrInvalidImage, want: "says zstd but the blob is gzip",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				m.Layers[0].MediaType = ocispec.MediaTypeImageLayerZstd
			}},
		{name: "diff ID mismatch", kind: ErrInvalid, want: "but the image config says its diff ID is",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				setConfig(t, cr, f, m, func(c *ocispec.Image) { c.RootFS.DiffIDs[1] = digest.FromString("lie") })
			}},
		{name: "diff ID malformed", kind: store.ErrInvalidImage, want: "image config diff ID 2",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				setConfig(t, cr, f, m, func(c *ocispec.Image) { c.RootFS.DiffIDs[1] = "sha256:zz" })
			}},
		{name: "config rootfs not layers", kind: store.ErrInvalidImage, want: `rootfs.type "", not "layers"`,
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				setConfig(t, cr, f, m, func(c *ocispec.Image) { c.RootFS.Type = "" })
			}},
		{name: "config not JSON", kind: store.ErrInvalidImage, want: "image config is not valid JSON",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				setConfigBytes(cr, m, []byte("<html>"))
			}},
		{name: "fewer diff IDs than layers", kind: nil, want: "its manifest has 2 layers and its config 1 diff IDs",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				setConfig(t, cr, f, m, func(c *ocispec.Image) { c.RootFS.DiffIDs = c.RootFS.DiffIDs[:1] })
			}},
		{name: "truncated gzip", kind: ErrInvalid, want: "is refused: it does not decompress",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				setLayer(cr, m, 1, f.Layers[1].Blob[:len(f.Layers[1].Blob)/2])
			}},
		// The layer check reads gzip with one plain reader (not pgzip):
		// the trailer's CRC and what follows the stream still count.
		{name: "gzip with a wrong CRC", kind: ErrInvalid, want: "is refused: it does not decompress",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				blob := bytes.Clone(f.Layers[1].Blob)
				blob[len(blob)-8] ^= 0xff
				setLayer(cr, m, 1, blob)
			}},
		{name: "gzip followed by garbage", kind: ErrInvalid, want: "is refused: it does not decompress",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				setLayer(cr, m, 1, append(bytes.Clone(f.Layers[1].Blob), "trailing bytes that are no gzip member"...))
			}},
		{name: "gzip of something that is not a tar", kind: ErrInvalid, want: "not a well-formed tar",
			craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
				plain := bytes.Repeat([]byte("not a tar "), 200)
				setLayer(cr, m, 0, compressBlob(t, plain, "gzip"))
				setConfig(t, cr, f, m, func(c *ocispec.Image) { c.RootFS.DiffIDs[0] = digest.FromBytes(plain) })
			}},
	}
}

// setConfig changes the config, serves it and points the manifest at it.
func setConfig(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest, change func(*ocispec.Image)) {
	t.Helper()
	var cfg ocispec.Image
	if err := json.Unmarshal(f.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	change(&cfg)
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	setConfigBytes(cr, m, data)
}

func setConfigBytes(cr *craftedRegistry, m *ocispec.Manifest, data []byte) {
	d := digest.FromBytes(data)
	cr.blobs[d.String()] = data
	m.Config.Digest, m.Config.Size = d, int64(len(data))
}

// setLayer serves blob as layer i, with a manifest entry that matches it.
func setLayer(cr *craftedRegistry, m *ocispec.Manifest, i int, blob []byte) {
	d := digest.FromBytes(blob)
	cr.blobs[d.String()] = blob
	m.Layers[i].Digest, m.Layers[i].Size = d, int64(len(blob))
}

// pullHostile pulls from a registry that serves the fixture as tc changes
// it, into a new store; it returns the store, the manifest served and the
// pull's error.
func pullHostile(t *testing.T, tc hostileCase) (*store.Store, ocispec.Manifest, error) {
	t.Helper()
	cr, _, m := serveHostile(t, tc)
	s := openStore(t)
	_, err := newTestClient(Config{}).Pull(bg(), s, cr.Host+"/evil", PullOptions{})
	return s, m, err
}

// serveHostile starts a registry serving the fixture as tc changes it, as
// "evil:latest".
func serveHostile(t *testing.T, tc hostileCase) (*craftedRegistry, *fixtureImage, ocispec.Manifest) {
	t.Helper()
	cr := newCraftedRegistry(t)
	f := newFixture(t, fixtureOptions{})
	cr.serve(f)
	var m ocispec.Manifest
	if err := json.Unmarshal(f.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if tc.craft != nil {
		tc.craft(t, cr, f, &m)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if tc.raw != nil {
		data = tc.raw(f.Manifest)
	}
	cr.manifests["latest"] = craftedManifest{ocispec.MediaTypeImageManifest, data}
	return cr, f, m
}

// Every hostile answer gets an error that names the limit or the mismatch,
// and nothing is tagged, listed or left in tmp/.
func TestPullHostileRegistry(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			s, _, err := pullHostile(t, tc)
			if err == nil {
				t.Fatal("pull succeeded")
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("error is not %v: %v", tc.kind, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			assertNothingTagged(t, s)
			assertBatchEnded(t, s)
		})
	}
}

// A layer refused for its bytes (wrong digest, wrong size, truncated or
// corrupt gzip, not a tar, wrong diff ID) is checked as it streams in and
// never reaches the store: not under its digest, not in tmp/, no image, no
// batch left open. The cases are hostileCases' by name, with the layer
// each one spoils.
func TestPullRefusedLayerIsNotStored(t *testing.T) {
	spoiled := map[string]int{
		"layer bytes do not match digest":     1,
		"layer longer than its size":          0,
		"manifest announces the wrong size":   0,
		"diff ID mismatch":                    1,
		"truncated gzip":                      1,
		"gzip with a wrong CRC":               1,
		"gzip followed by garbage":            1,
		"gzip of something that is not a tar": 0,
	}
	seen := 0
	for _, tc := range hostileCases() {
		layer, ok := spoiled[tc.name]
		if !ok {
			continue
		}
		seen++
		t.Run(tc.name, func(t *testing.T) {
			s, m, err := pullHostile(t, tc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if s.HasBlob(m.Layers[layer].Digest) {
				t.Errorf("refused layer %s was stored", m.Layers[layer].Digest)
			}
			assertNothingTagged(t, s)
			assertBatchEnded(t, s)
		})
	}
	if seen != len(spoiled) {
		t.Fatalf("ran %d of the %d cases: a hostile case was renamed", seen, len(spoiled))
	}
}

func assertNothingTagged(t *testing.T, s *store.Store) {
	t.Helper()
	if images, err := s.Images(); err != nil || len(images) != 0 {
		t.Errorf("images listed after a refused pull: %v %v", images, err)
	}
	if entries, _ := os.ReadDir(s.TmpDir()); len(entries) != 0 {
		t.Errorf("ingest files left: %v", entries)
	}
}

// assertBatchEnded checks that a pull, even a refused one, ended the store
// batch it stores its blobs in (docs/store.md): an image stored after it
// is in index.json at once, where another process sees it.
func assertBatchEnded(t *testing.T, s *store.Store) {
	t.Helper()
	f := newFixture(t, fixtureOptions{})
	var descs []ocispec.Descriptor
	for _, l := range f.Layers {
		if _, _, err := s.PutBlob(bytes.NewReader(l.Blob), l.Digest, int64(len(l.Blob))); err != nil {
			t.Fatal(err)
		}
		descs = append(descs, ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: int64(len(l.Blob))})
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(f.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	img, err := s.PutImage(cfg, descs, store.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Image(img.ID.String()); err != nil {
		t.Errorf("an image stored after the pull is not in index.json (the pull left its store batch open?): %v", err)
	}
}

// An index with a malformed entry, or over the limit, is refused before any
// manifest is fetched by it.
func TestPullHostileIndex(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		entry      ocispec.Descriptor
	}{
		{"malformed digest", "is malformed", ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: "sha256:../x", Size: 10}},
		{"entry over the limit", "over berth's limit of 4194304 bytes", ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("x"), Size: store.MaxManifestSize + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := newCraftedRegistry(t)
			tc.entry.Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64"}
			idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
				Manifests: []ocispec.Descriptor{tc.entry}}
			data, _ := json.Marshal(idx)
			cr.manifests["latest"] = craftedManifest{ocispec.MediaTypeImageIndex, data}
			s := openStore(t)
			_, err := newTestClient(Config{}).Pull(bg(), s, cr.Host+"/evil", PullOptions{Platform: "linux/amd64"})
			if !errors.Is(err, store.ErrInvalidImage) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was tagged") {
				t.Fatalf("got %v", err)
			}
			assertNothingTagged(t, s)
		})
	}
}

// A layer blob already in the store (left by an interrupted pull) is
// checked against the config's diff ID like a downloaded one.
func TestPullChecksDiffIDOfStoredBlob(t *testing.T) {
	cr, f, _ := serveHostile(t, hostileCase{craft: func(t *testing.T, cr *craftedRegistry, f *fixtureImage, m *ocispec.Manifest) {
		setConfig(t, cr, f, m, func(c *ocispec.Image) { c.RootFS.DiffIDs[0] = digest.FromString("lie") })
	}})
	s := openStore(t)
	if _, _, err := s.PutBlob(bytes.NewReader(f.Layers[0].Blob), f.Layers[0].Digest, int64(len(f.Layers[0].Blob))); err != nil {
		t.Fatal(err)
	}
	_, err := newTestClient(Config{}).Pull(bg(), s, cr.Host+"/evil", PullOptions{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("layer %s from the store uncompresses to %s", f.Layers[0].Digest, f.Layers[0].DiffID)) {
		t.Fatalf("got %v", err)
	}
	assertNothingTagged(t, s)
}

// A stored blob whose bytes do not match its name (a damaged disk, a file
// put there by hand) is not reused: it is replaced by the registry's copy.
func TestPullReplacesDamagedStoredBlob(t *testing.T) {
	cr := newCraftedRegistry(t)
	f := newFixture(t, fixtureOptions{})
	cr.serve(f)
	s := openStore(t)
	bad := bytes.Repeat([]byte{'z'}, len(f.Layers[0].Blob))
	if err := os.WriteFile(s.BlobPath(f.Layers[0].Digest), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := newTestClient(Config{}).Pull(bg(), s, cr.Host+"/evil", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Validate(s, img); err != nil {
		t.Fatalf("pulled image does not validate: %v", err)
	}
}

// blobRegistry is a test registry holding the fixture (pushed as repo:latest)
// whose blob GETs go to answer first: it serves the blob named by its
// digest and returns true, or returns false for the real blob.
func blobRegistry(t *testing.T, f *fixtureImage, repo string, answer func(w http.ResponseWriter, r *http.Request, blob digest.Digest) bool) *testRegistry {
	t.Helper()
	reg := newTestRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, blob, ok := strings.Cut(r.URL.Path, "/blobs/")
			if r.Method == http.MethodGet && ok && answer(w, r, digest.Digest(blob)) {
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	f.pushRaw(t, reg.Host, repo, "latest")
	return reg
}

// hang announces size bytes, sends first and then nothing until the client
// goes away.
func hang(w http.ResponseWriter, r *http.Request, size int, first []byte) {
	w.Header().Set("Content-Length", fmt.Sprint(size))
	w.Write(first)
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// The config is fetched while the layers download (as Docker does). A
// config the pull refuses stops the downloads at once (here layers that
// would never end) and is the error reported; a layer refused while the
// config is still coming (one that would never end) stops the config's
// download, and is the error reported. Nothing is stored either way.
func TestPullRefusedBlobStopsTheOthers(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	bad := f.Layers[0]
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request, blob digest.Digest) bool
		want   string
	}{
		{"config refused, layers hang", func(w http.ResponseWriter, r *http.Request, blob digest.Digest) bool {
			if blob == f.ID {
				w.Write(bytes.Repeat([]byte{'x'}, len(f.Config)))
			} else {
				hang(w, r, 1000000, []byte{0x1f})
			}
			return true
		}, "filesystem layer verification failed for digest " + f.ID.String() + ": the image config"},
		{"layer refused, config hangs", func(w http.ResponseWriter, r *http.Request, blob digest.Digest) bool {
			switch blob {
			case f.ID:
				hang(w, r, len(f.Config), f.Config[:1])
			case bad.Digest:
				w.Write(bytes.Repeat([]byte{'x'}, len(bad.Blob)))
			default:
				return false
			}
			return true
		}, "filesystem layer verification failed for digest " + bad.Digest.String() + ": the layer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := blobRegistry(t, f, "stop", tc.answer)
			s := openStore(t)
			_, err := newTestClient(Config{}).Pull(bg(), s, reg.Host+"/stop", PullOptions{})
			if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			for _, l := range f.Layers {
				if s.HasBlob(l.Digest) {
					t.Errorf("layer %s stored by a refused pull", l.Digest)
				}
			}
			assertNothingTagged(t, s)
			assertBatchEnded(t, s)
		})
	}
}
