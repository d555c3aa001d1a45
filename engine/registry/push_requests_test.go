package registry

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// sevenLayers is a fixture of more layers than maxConcurrentUploads.
func sevenLayers(t *testing.T) *fixtureImage {
	t.Helper()
	var layers []map[string]string
	for i := range 7 {
		layers = append(layers, map[string]string{fmt.Sprintf("layer%d.txt", i): strings.Repeat(fmt.Sprint(i), 100+i)})
	}
	return newFixture(t, fixtureOptions{Layers: layers})
}

// firstHit is the index of the first request whose path names d, or -1.
func firstHit(hits []string, d digest.Digest) int {
	return slices.IndexFunc(hits, func(h string) bool { return strings.Contains(h, d.String()) })
}

// A push to a registry that has none of the blobs asks for each blob once
// (HEAD), starts one upload (POST) and completes it in one PUT, then puts
// the manifest: nothing else, no PATCH, no blob asked twice.
func TestPushRequestsPerBlob(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := sevenLayers(t)
	s := openStore(t)
	img := storeFixture(t, s, f, reg.Host+"/team/app:1")
	var out bytes.Buffer
	if _, err := newTestClient(Config{}).Push(bg(), s, reg.Host+"/team/app:1", PushOptions{Progress: &out}); err != nil {
		t.Fatalf("push: %v\n%s", err, out.String())
	}
	hits := reg.Hits()
	blobs := append([]digest.Digest{img.Manifest.Config.Digest}, f.layerDigests()...)
	for _, d := range blobs {
		if n := countPrefix(hits, "HEAD /v2/team/app/blobs/"+d.String()); n != 1 {
			t.Errorf("blob %s asked for %d times, want 1", d, n)
		}
	}
	want := map[string]int{
		"HEAD /v2/team/app/blobs/":         len(blobs),
		"POST /v2/team/app/blobs/uploads/": len(blobs),
		"PUT /v2/team/app/blobs/uploads/":  len(blobs),
		"PUT /v2/team/app/manifests/1":     1,
		"PATCH ":                           0,
	}
	for prefix, n := range want {
		if got := countPrefix(hits, prefix); got != n {
			t.Errorf("%d requests %q, want %d\n%s", got, prefix, n, strings.Join(hits, "\n"))
		}
	}
	other := 0
	for _, h := range hits {
		if h != "GET /v2/" && !strings.HasPrefix(h, "HEAD /v2/team/app/blobs/") && !strings.HasPrefix(h, "POST /v2/team/app/blobs/uploads/") && !strings.HasPrefix(h, "PUT /v2/team/app/") {
			other++
			t.Errorf("unexpected request %q", h)
		}
	}
	// The layers start top first: the two bottom ones, shown Waiting, ask
	// for nothing before one of the five above them is uploaded.
	firstPut := slices.IndexFunc(hits, func(h string) bool { return strings.HasPrefix(h, "PUT /v2/team/app/blobs/uploads/") })
	for _, l := range img.Manifest.Layers[:2] {
		if i := firstHit(hits, l.Digest); i < firstPut {
			t.Errorf("waiting layer %s asked for at request %d, before the first upload ended (%d)", l.Digest, i, firstPut)
		}
		if !strings.Contains(out.String(), l.Digest.Encoded()[:12]+": Waiting\n") {
			t.Errorf("layer %s not shown Waiting:\n%s", l.Digest, out.String())
		}
	}
}

func (f *fixtureImage) layerDigests() []digest.Digest {
	var out []digest.Digest
	for _, l := range f.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// The config goes up beside the layers, not after them: here no layer's
// upload completes until the config's has arrived.
func TestPushSendsTheConfigBesideTheLayers(t *testing.T) {
	f := sevenLayers(t)
	configSeen := make(chan struct{})
	var once sync.Once
	waited := false
	reg := newTestRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
				if r.URL.Query().Get("digest") == f.ID.String() {
					once.Do(func() { close(configSeen) })
				} else {
					select {
					case <-configSeen:
					case <-time.After(time.Minute): // a fail-safe, not a timing
						waited = true
					}
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	s := openStore(t)
	storeFixture(t, s, f, reg.Host+"/team/app:1")
	if _, err := newTestClient(Config{}).Push(bg(), s, reg.Host+"/team/app:1", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if waited {
		t.Error("the layers' uploads waited for a config that came only after them")
	}
}

// A registry that refuses the config fails the push with the config's
// error, not the cancellation of the layers it stopped, and no manifest
// is put.
func TestPushConfigRefusedStopsThePush(t *testing.T) {
	f := sevenLayers(t)
	reg := newTestRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && r.URL.Query().Get("digest") == f.ID.String() {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"config refused"}]}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	s := openStore(t)
	storeFixture(t, s, f, reg.Host+"/team/app:1")
	_, err := newTestClient(Config{}).Push(bg(), s, reg.Host+"/team/app:1", PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "push blob "+f.ID.String()) || strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("got %v, want the config's refusal", err)
	}
	if n := countPrefix(reg.Hits(), "PUT /v2/team/app/manifests/"); n != 0 {
		t.Errorf("manifest put %d times after a refused config", n)
	}
}

// A blob whose bytes in the store no longer match its digest is refused:
// the push fails naming it, and the registry gets no manifest.
func TestPushRefusesACorruptStoreBlob(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{})
	s := openStore(t)
	img := storeFixture(t, s, f, reg.Host+"/team/app:1")
	bad := img.Manifest.Layers[1].Digest
	path := filepath.Join(s.Root(), "blobs", "sha256", bad.Encoded())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff // same size, other bytes
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = newTestClient(Config{}).Push(bg(), s, reg.Host+"/team/app:1", PushOptions{Progress: &out})
	if err == nil || !strings.Contains(err.Error(), "push blob "+bad.String()) {
		t.Fatalf("got %v, want the corrupt blob refused\n%s", err, out.String())
	}
	hits := reg.Hits()
	if n := countPrefix(hits, "PUT /v2/team/app/manifests/"); n != 0 {
		t.Errorf("manifest put %d times after a refused blob", n)
	}
	if strings.Contains(out.String(), "digest: ") {
		t.Errorf("output reports success:\n%s", out.String())
	}
}
