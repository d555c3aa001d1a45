//go:build unix

package registry

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// The multi-layer pull of issue 18 (5 layers of 10 MiB, gzip) against
// go-containerregistry's in-process registry, so it runs where Debian's
// docker-registry is not installed and measures Berth's side alone with
// no other process in the way:
//
//	go test -run '^$' -bench PullLayersInProcess -benchtime 10x ./engine/registry
//
// Each iteration pulls into a fresh, empty store (made outside the timer).
// cpu-ms/op is the process's user+system time per pull, the in-process
// registry's serving included; the CLI figures against skopeo are in
// docs/performance.md.
func BenchmarkPullLayersInProcess(b *testing.B) {
	src := benchImage(b)
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	name := host + "/" + benchRepo + ":1"
	img, err := src.Image("bench/app:1")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := src.Tag(img.ID, name); err != nil {
		b.Fatal(err)
	}
	c := newTestClient(Config{})
	if _, err := c.Push(bg(), src, name, PushOptions{}); err != nil {
		b.Fatal(err)
	}
	src.Untag(name)
	benchReportSize(b)
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir, err := os.MkdirTemp(benchDir, "pull-")
		if err != nil {
			b.Fatal(err)
		}
		s, err := store.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		before := processCPU()
		b.StartTimer()
		got, err := c.Pull(bg(), s, name, PullOptions{})
		b.StopTimer()
		cpu += processCPU() - before
		if err != nil {
			b.Fatal(err)
		}
		if got.ID != img.ID {
			b.Fatalf("pulled image %s, pushed %s", got.ID, img.ID)
		}
		s.Close()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// processCPU is the user and system time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
