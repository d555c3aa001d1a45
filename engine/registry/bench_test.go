package registry

// Push and pull of a 50 MiB, 5-layer image over loopback, against Debian's
// docker-registry (go-containerregistry's in-process registry when it is not
// installed), with skopeo copy of the same image to the same kind of
// registry for comparison:
//
//	go test -run '^$' -bench . -benchtime 5x ./engine/registry
//
// Every push goes to a fresh, empty registry and every pull into a fresh
// store (outside the timer), so each iteration moves all 50 MiB; the
// up-to-date benchmark pulls an unchanged image into a store that has it.

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	benchLayers    = 5
	benchLayerSize = 10 << 20
	benchRepo      = "bench/app"
)

var (
	benchOnce  sync.Once
	benchDir   string
	benchStore *store.Store
	benchErr   error
)

// benchImage builds the 50 MiB image once, in a store under a temporary
// directory that lives as long as the test binary.
func benchImage(b *testing.B) *store.Store {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "berth-registry-bench-")
		if benchErr != nil {
			return
		}
		benchStore, benchErr = store.Open(filepath.Join(benchDir, "src"))
		if benchErr != nil {
			return
		}
		rng := rand.New(rand.NewSource(1))
		cfg := ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, RootFS: ocispec.RootFS{Type: "layers"}}
		var descs []ocispec.Descriptor
		var sizes []int64
		for i := 0; i < benchLayers; i++ {
			data := make([]byte, benchLayerSize)
			rng.Read(data)
			var tarBuf bytes.Buffer
			tw := tar.NewWriter(&tarBuf)
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data%d.bin", i), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(1, 0)})
			tw.Write(data)
			tw.Close()
			var gz bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
			zw.Write(tarBuf.Bytes())
			zw.Close()
			d, n, err := benchStore.PutBlob(bytes.NewReader(gz.Bytes()), "", -1)
			if err != nil {
				benchErr = err
				return
			}
			descs = append(descs, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: d, Size: n})
			sizes = append(sizes, int64(tarBuf.Len()))
			cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(tarBuf.Bytes()))
		}
		img, err := benchStore.PutImage(cfg, descs, store.ImageOptions{LayerSizes: sizes})
		if err == nil {
			_, err = benchStore.Tag(img.ID, "bench/app:1")
		}
		benchErr = err
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != nil {
		benchStore.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchRegistry starts an empty registry on loopback and returns its
// host:port and a stop function.
func benchRegistry(b *testing.B) (string, func()) {
	b.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
		return strings.TrimPrefix(srv.URL, "http://"), srv.Close
	}
	dir, err := os.MkdirTemp("", "berth-bench-registry-")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o644)
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.RemoveAll(dir)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatal("docker-registry did not start")
		}
	}
	return addr, stop
}

func benchReportSize(b *testing.B) { b.SetBytes(benchLayers * benchLayerSize) }

func BenchmarkPush50MiB(b *testing.B) {
	src := benchImage(b)
	c := newTestClient(Config{})
	benchReportSize(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		host, stop := benchRegistry(b)
		name := host + "/" + benchRepo + ":1"
		img, _ := src.Image("bench/app:1")
		if _, err := src.Tag(img.ID, name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := c.Push(bg(), src, name, PushOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		src.Untag(name)
		stop()
		b.StartTimer()
	}
}

// benchFilledRegistry is a registry holding the bench image.
func benchFilledRegistry(b *testing.B) (string, func()) {
	src := benchImage(b)
	host, stop := benchRegistry(b)
	name := host + "/" + benchRepo + ":1"
	img, _ := src.Image("bench/app:1")
	if _, err := src.Tag(img.ID, name); err != nil {
		b.Fatal(err)
	}
	if _, err := newTestClient(Config{}).Push(bg(), src, name, PushOptions{}); err != nil {
		b.Fatal(err)
	}
	src.Untag(name)
	return host, stop
}

func BenchmarkPull50MiB(b *testing.B) {
	host, stop := benchFilledRegistry(b)
	defer stop()
	c := newTestClient(Config{})
	benchReportSize(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir, _ := os.MkdirTemp(benchDir, "pull-")
		s, err := store.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := c.Pull(bg(), s, host+"/"+benchRepo+":1", PullOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		os.RemoveAll(dir)
		b.StartTimer()
	}
}

// The goal: under 50 ms for an image that has not changed.
func BenchmarkPullUpToDate(b *testing.B) {
	host, stop := benchFilledRegistry(b)
	defer stop()
	c := newTestClient(Config{})
	dir, _ := os.MkdirTemp(benchDir, "pull-")
	defer os.RemoveAll(dir)
	s, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := c.Pull(bg(), s, host+"/"+benchRepo+":1", PullOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Pull(bg(), s, host+"/"+benchRepo+":1", PullOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func skopeo(b *testing.B, args ...string) {
	b.Helper()
	out, err := exec.Command("skopeo", append([]string{"--insecure-policy"}, args...)...).CombinedOutput()
	if err != nil {
		b.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func requireSkopeo(b *testing.B) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		b.Skip("skopeo is not installed")
	}
	if _, err := exec.LookPath("docker-registry"); err != nil {
		b.Skip("the comparison runs against docker-registry, which is not installed")
	}
}

func BenchmarkSkopeoPull50MiB(b *testing.B) {
	requireSkopeo(b)
	host, stop := benchFilledRegistry(b)
	defer stop()
	benchReportSize(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir, _ := os.MkdirTemp(benchDir, "skopeo-pull-")
		b.StartTimer()
		skopeo(b, "copy", "--src-tls-verify=false", "docker://"+host+"/"+benchRepo+":1", "oci:"+dir+":bench")
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
}

func BenchmarkSkopeoPush50MiB(b *testing.B) {
	requireSkopeo(b)
	// skopeo's own copy of the image, as an OCI layout.
	host, stop := benchFilledRegistry(b)
	layout := filepath.Join(benchDir, "skopeo-src")
	os.RemoveAll(layout)
	skopeo(b, "copy", "--src-tls-verify=false", "docker://"+host+"/"+benchRepo+":1", "oci:"+layout+":bench")
	stop()
	benchReportSize(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		host, stop := benchRegistry(b)
		b.StartTimer()
		skopeo(b, "copy", "--dest-tls-verify=false", "oci:"+layout+":bench", "docker://"+host+"/"+benchRepo+":1")
		b.StopTimer()
		stop()
		b.StartTimer()
	}
}
