package registry

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Layers download bottom first, three at a time, as Docker queues them:
// the three bottom ones are all asked for before any other (here the
// registry holds their answers until all three are asked for), and the
// two above them, shown Waiting, only after one of those ended.
func TestPullStartsTheLayersBottomFirst(t *testing.T) {
	var layers []map[string]string
	for i := range 5 {
		layers = append(layers, map[string]string{fmt.Sprintf("l%d", i): strings.Repeat("x", 10+i)})
	}
	f := newFixture(t, fixtureOptions{Layers: layers})
	first := map[string]bool{}
	for _, l := range f.Layers[:maxConcurrentDownloads] {
		first[l.Digest.String()] = true
	}
	var (
		mu      sync.Mutex
		asked   = map[string]bool{}
		allIn   = make(chan struct{})
		early   []string
		stalled bool
	)
	gate := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				mu.Lock()
				if first[d] {
					asked[d] = true
					if len(asked) == len(first) {
						close(allIn)
					}
				} else if d != f.ID.String() && len(asked) < len(first) {
					early = append(early, d)
				}
				mu.Unlock()
				if first[d] {
					select {
					case <-allIn:
					case <-time.After(time.Minute): // a fail-safe, not a timing
						mu.Lock()
						stalled = true
						mu.Unlock()
					}
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	reg := newTestRegistry(t, gate)
	f.pushRaw(t, reg.Host, "test/img", "v1")
	s := openStore(t)
	var out bytes.Buffer
	if _, err := newTestClient(Config{}).Pull(bg(), s, reg.Host+"/test/img:v1", PullOptions{Progress: &out}); err != nil {
		t.Fatalf("pull: %v\n%s", err, out.String())
	}
	if stalled || len(early) > 0 {
		t.Errorf("layers %v asked for before the three bottom ones (stalled: %v)", early, stalled)
	}
	for _, l := range f.Layers[maxConcurrentDownloads:] {
		if !strings.Contains(out.String(), l.Digest.Encoded()[:12]+": Waiting\n") {
			t.Errorf("layer %s not shown Waiting:\n%s", l.Digest, out.String())
		}
	}
}
