package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// anonymous is a keychain with no credentials, so tests never read the
// machine's ~/.docker/config.json.
var anonymous = authn.NewMultiKeychain()

// staticKeychain answers every registry with the same credentials.
type staticKeychain struct{ user, pass string }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(authn.AuthConfig{Username: k.user, Password: k.pass}), nil
}

func newTestClient(cfg Config) *Client {
	return NewClient(Options{Config: cfg, Keychain: anonymous, UserAgent: "berth-test"})
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testRegistry is go-containerregistry's in-process registry on loopback,
// counting requests by method and path.
type testRegistry struct {
	srv  *httptest.Server
	Host string
	mu   sync.Mutex
	hits []string
}

func newTestRegistry(t *testing.T, wrap func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	var h http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	tr := &testRegistry{}
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		tr.hits = append(tr.hits, r.Method+" "+r.URL.Path)
		tr.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(tr.srv.Close)
	tr.Host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

// Hits returns the requests seen since the last call.
func (tr *testRegistry) Hits() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := tr.hits
	tr.hits = nil
	return out
}

func countPrefix(hits []string, prefix string) int {
	n := 0
	for _, h := range hits {
		if strings.HasPrefix(h, prefix) {
			n++
		}
	}
	return n
}

// --- image fixtures, built by hand so they don't depend on the code under test ---

type fixtureLayer struct {
	Blob      []byte
	MediaType string
	Digest    digest.Digest
	DiffID    digest.Digest
	TarSize   int64
}

type fixtureImage struct {
	Layers       []fixtureLayer
	Config       []byte
	ConfigType   string
	Manifest     []byte
	ManifestType string
	ID           digest.Digest // config digest
	Digest       digest.Digest // manifest digest
	Arch         string
}

type fixtureOptions struct {
	Docker      bool                // Docker media types instead of OCI
	Compression string              // "gzip" (default), "zstd", "none"
	Arch        string              // default amd64
	Layers      []map[string]string // files per layer
	// CorruptDiffID makes the config lie about the first layer.
	CorruptDiffID bool
}

func makeTar(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		body := files[n]
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compressBlob(t testing.TB, data []byte, kind string) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case "", "gzip":
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(data)
		zw.Close()
	case "none":
		buf.Write(data)
	default:
		t.Fatalf("unknown compression %q", kind)
	}
	return buf.Bytes()
}

func layerMediaType(docker bool, kind string) string {
	switch {
	case docker && (kind == "" || kind == "gzip"):
		return store.MediaTypeDockerLayer
	case docker && kind == "none":
		return "application/vnd.docker.image.rootfs.diff.tar"
	case kind == "zstd":
		return ocispec.MediaTypeImageLayerZstd
	case kind == "none":
		return ocispec.MediaTypeImageLayer
	}
	return ocispec.MediaTypeImageLayerGzip
}

func newFixture(t testing.TB, opts fixtureOptions) *fixtureImage {
	t.Helper()
	if opts.Arch == "" {
		opts.Arch = "amd64"
	}
	if opts.Layers == nil {
		opts.Layers = []map[string]string{
			{"etc/os-release": "NAME=fixture\n", "bin/hello": "#!/bin/sh\necho hello\n"},
			{"app/data.txt": strings.Repeat("berth ", 1000)},
		}
	}
	f := &fixtureImage{Arch: opts.Arch}
	cfg := ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: opts.Arch},
		RootFS:   ocispec.RootFS{Type: "layers"},
		Config:   ocispec.ImageConfig{Cmd: []string{"/bin/sh"}},
	}
	created := time.Unix(1700000000, 0).UTC()
	cfg.Created = &created
	var descs []ocispec.Descriptor
	for i, files := range opts.Layers {
		tarData := makeTar(t, files)
		blob := compressBlob(t, tarData, opts.Compression)
		l := fixtureLayer{
			Blob: blob, MediaType: layerMediaType(opts.Docker, opts.Compression),
			Digest: digest.FromBytes(blob), DiffID: digest.FromBytes(tarData), TarSize: int64(len(tarData)),
		}
		f.Layers = append(f.Layers, l)
		diffID := l.DiffID
		if opts.CorruptDiffID && i == 0 {
			diffID = digest.FromString("not the layer")
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
		cfg.History = append(cfg.History, ocispec.History{CreatedBy: fmt.Sprintf("layer %d", i)})
		descs = append(descs, ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: int64(len(blob))})
	}
	var err error
	f.Config, err = json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.ID = digest.FromBytes(f.Config)
	f.ConfigType, f.ManifestType = ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageManifest
	if opts.Docker {
		f.ConfigType, f.ManifestType = store.MediaTypeDockerConfig, store.MediaTypeDockerManifest
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: f.ManifestType,
		Config:    ocispec.Descriptor{MediaType: f.ConfigType, Digest: f.ID, Size: int64(len(f.Config))},
		Layers:    descs,
	}
	// Indented, as some registries serve it: the digest is of these bytes.
	f.Manifest, err = json.MarshalIndent(m, "", "   ")
	if err != nil {
		t.Fatal(err)
	}
	f.Digest = digest.FromBytes(f.Manifest)
	return f
}

// pushRaw uploads blobs and the manifest with plain HTTP requests.
func (f *fixtureImage) pushRaw(t testing.TB, host, repo, tag string) {
	t.Helper()
	for _, l := range f.Layers {
		putBlobRaw(t, host, repo, l.Blob)
	}
	putBlobRaw(t, host, repo, f.Config)
	putManifestRaw(t, host, repo, tag, f.ManifestType, f.Manifest)
}

func putBlobRaw(t testing.TB, host, repo string, blob []byte) {
	t.Helper()
	u := fmt.Sprintf("http://%s/v2/%s/blobs/uploads/?digest=%s", host, repo, digest.FromBytes(blob))
	resp, err := http.Post(u, "application/octet-stream", bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload blob: %s", resp.Status)
	}
}

func putManifestRaw(t testing.TB, host, repo, ref, mediaType string, data []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/v2/%s/manifests/%s", host, repo, ref), bytes.NewReader(data))
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put manifest: %s", resp.Status)
	}
}

// pushIndex pushes images and an index over them under tag.
func pushIndex(t testing.TB, host, repo, tag string, docker bool, images ...*fixtureImage) digest.Digest {
	t.Helper()
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	if docker {
		idx.MediaType = store.MediaTypeDockerManifestList
	}
	for _, img := range images {
		img.pushRaw(t, host, repo, img.Digest.String())
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{
			MediaType: img.ManifestType, Digest: img.Digest, Size: int64(len(img.Manifest)),
			Platform: &ocispec.Platform{OS: "linux", Architecture: img.Arch},
		})
	}
	data, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	putManifestRaw(t, host, repo, tag, idx.MediaType, data)
	return digest.FromBytes(data)
}

// storeFixture puts a fixture into a store as a built image would be, and
// tags it.
func storeFixture(t testing.TB, s *store.Store, f *fixtureImage, name string) *store.Image {
	t.Helper()
	var descs []ocispec.Descriptor
	var sizes []int64
	for _, l := range f.Layers {
		if _, _, err := s.PutBlob(bytes.NewReader(l.Blob), l.Digest, int64(len(l.Blob))); err != nil {
			t.Fatal(err)
		}
		descs = append(descs, ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: int64(len(l.Blob))})
		sizes = append(sizes, l.TarSize)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(f.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	img, err := s.PutImage(cfg, descs, store.ImageOptions{LayerSizes: sizes})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tag(img.ID, name); err != nil {
		t.Fatal(err)
	}
	return img
}

// recorder collects trace events.
func recorder() (*trace.Buffer, func(trace.Event)) {
	buf := &trace.Buffer{}
	return buf, buf.Record
}

func bg() context.Context { return context.Background() }
