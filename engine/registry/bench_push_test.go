//go:build unix

package registry

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// The multi-layer push of issue 18 (5 layers of 10 MiB, gzip) to an empty
// go-containerregistry in-process registry, the counterpart of
// BenchmarkPullLayersInProcess:
//
//	go test -run '^$' -bench PushLayersInProcess -benchtime 10x ./engine/registry
//
// Each iteration pushes to a new, empty registry (started outside the
// timer). cpu-ms/op is the process's user+system time per push, the
// in-process registry's receiving and hashing included.
func BenchmarkPushLayersInProcess(b *testing.B) {
	src := benchImage(b)
	img, err := src.Image("bench/app:1")
	if err != nil {
		b.Fatal(err)
	}
	c := newTestClient(Config{})
	benchReportSize(b)
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
		name := strings.TrimPrefix(srv.URL, "http://") + "/" + benchRepo + ":1"
		if _, err := src.Tag(img.ID, name); err != nil {
			b.Fatal(err)
		}
		before := processCPU()
		b.StartTimer()
		res, err := c.Push(bg(), src, name, PushOptions{})
		b.StopTimer()
		cpu += processCPU() - before
		if err != nil {
			b.Fatal(err)
		}
		if res.Digest != img.ManifestDigest {
			b.Fatalf("pushed %s, stored %s", res.Digest, img.ManifestDigest)
		}
		src.Untag(name)
		srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}
