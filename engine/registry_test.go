package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of the registry tests start with reg.

// regImage stores a one-layer image under name and returns it.
func regImage(t *testing.T, e *engine.Engine, name, content string) *store.Image {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1, 0), Typeflag: tar.TypeReg})
	io.WriteString(tw, content)
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	d, n, err := e.Store.PutBlob(bytes.NewReader(gz.Bytes()), "", -1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(tarBuf.Bytes())}},
		History:  []ocispec.History{{CreatedBy: "regImage"}},
	}
	img, err := e.Store.PutImage(cfg, []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: d, Size: n}},
		store.ImageOptions{LayerSizes: []int64{int64(tarBuf.Len())}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Tag(img.ID, name); err != nil {
		t.Fatal(err)
	}
	return img
}

func regRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestEnginePushPullAndEvents(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host := regRegistry(t)
	src := imgEngine(t)
	img := regImage(t, src, host+"/app:1", "hello\n")

	var out bytes.Buffer
	events := &trace.Buffer{}
	defer src.AddRecorder(events)()
	if err := src.Push(context.Background(), host+"/app:1", engine.PushOptions{Progress: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "1: digest: "+img.ManifestDigest.String()+" size: "+strconv.FormatInt(img.ManifestSize, 10)+"\n") {
		t.Errorf("push output:\n%s", out.String())
	}
	if len(events.OfType(trace.PushBlob)) != 2 || len(events.OfType(trace.PushEnd)) != 1 {
		t.Errorf("push events: %+v", events.Events())
	}

	dst := imgEngine(t)
	events = &trace.Buffer{}
	defer dst.AddRecorder(events)()
	pulled, err := dst.Pull(context.Background(), host+"/app:1", engine.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pulled.ID != img.ID || pulled.ManifestDigest != img.ManifestDigest || pulled.Size != img.Size {
		t.Fatalf("pulled %s (%d bytes), pushed %s (%d bytes)", pulled.ID, pulled.Size, img.ID, img.Size)
	}
	if len(events.OfType(trace.PullStart)) != 1 || len(events.OfType(trace.PullBlob)) != 2 || len(events.OfType(trace.PullEnd)) != 1 {
		t.Errorf("pull events: %+v", events.Events())
	}
}

// registries.json in the root makes a Docker Hub name pull from a mirror.
func TestEnginePullUsesRootRegistriesConfig(t *testing.T) {
	host := regRegistry(t)
	src := imgEngine(t)
	regImage(t, src, host+"/library/hello:1", "mirrored\n")
	if err := src.Push(context.Background(), host+"/library/hello:1", engine.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	dst := imgEngine(t)
	os.WriteFile(filepath.Join(dst.Root(), "registries.json"), []byte(`{"registry-mirrors":["http://`+host+`"]}`), 0o644)
	img, err := dst.Pull(context.Background(), "hello:1", engine.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Refs) != 1 || img.Refs[0] != "docker.io/library/hello:1" {
		t.Fatalf("refs %v", img.Refs)
	}
	os.WriteFile(filepath.Join(dst.Root(), "registries.json"), []byte(`{"registry-mirrors":`), 0o644)
	if _, err := dst.Pull(context.Background(), "hello:1", engine.PullOptions{}); err == nil || !strings.Contains(err.Error(), "registries.json is not valid JSON") {
		t.Fatalf("a broken registries.json should be reported, got %v", err)
	}
}

func TestEngineServeRegistry(t *testing.T) {
	src := imgEngine(t)
	img := regImage(t, src, "served:1", "served\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.ServeRegistry(ctx, ln, engine.ServeRegistryOptions{}) }()

	dst := imgEngine(t)
	pulled, err := dst.Pull(context.Background(), ln.Addr().String()+"/served:1", engine.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pulled.ID != img.ID {
		t.Fatalf("pulled %s, served %s", pulled.ID, img.ID)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve ended with %v", err)
	}
}

func TestEngineLoginLogout(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host := regRegistry(t) // accepts any credentials
	res, err := engine.Login(context.Background(), t.TempDir(), engine.LoginOptions{Server: "http://" + host + "/", Username: "ann", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Server != host || res.Helper != "" || res.File != filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json") {
		t.Fatalf("login result %+v", res)
	}
	if engine.StoredUsername(host) != "ann" {
		t.Fatal("credentials not stored")
	}
	h, found, err := engine.Logout(host)
	if err != nil || !found || h != host {
		t.Fatalf("logout: %s %v %v", h, found, err)
	}
	if _, found, _ := engine.Logout(host); found {
		t.Fatal("second logout found credentials")
	}
}
