package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"
)

type servedStore struct {
	s    *store.Store
	h    *Handler
	srv  *httptest.Server
	Host string
	log  syncBuffer
}

// syncBuffer is a bytes.Buffer the handler's goroutines may write while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveStoreWith serves a fresh store with opts, logging to ss.log.
func serveStoreWith(t *testing.T, opts ServeOptions) *servedStore {
	t.Helper()
	ss := &servedStore{s: openStore(t)}
	opts.Log = &ss.log
	ss.h = NewHandler(ss.s, opts)
	ss.srv = httptest.NewServer(ss.h)
	t.Cleanup(func() {
		ss.srv.Close()
		ss.h.Close()
	})
	ss.Host = strings.TrimPrefix(ss.srv.URL, "http://")
	return ss
}

// serveStore serves a fresh store, read-only or accepting pushes with
// testPushToken.
func serveStore(t *testing.T, allowPush bool) *servedStore {
	t.Helper()
	opts := ServeOptions{AllowPush: allowPush}
	if allowPush {
		opts.PushAuth = TokenAuth{Token: testPushToken}
	}
	return serveStoreWith(t, opts)
}

// testPushToken is the push credential of serveStore(t, true), with the
// go-containerregistry option and berth client that carry it.
const testPushToken = "test-push-token"

var (
	pushAuth   = remote.WithAuth(&authn.Basic{Username: "berth", Password: testPushToken})
	pushClient = func() *Client {
		return NewClient(Options{Keychain: staticKeychain{"berth", testPushToken}, UserAgent: "berth-test"})
	}
)

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil && resp.StatusCode == http.StatusOK {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestServeFeedsPulls(t *testing.T) {
	ss := serveStore(t, false)
	alpine := newFixture(t, fixtureOptions{Docker: true})
	other := newFixture(t, fixtureOptions{Layers: []map[string]string{{"x": "x"}}})
	storeFixture(t, ss.s, alpine, "alpine:latest")
	storeFixture(t, ss.s, other, "localhost:5000/x:1")
	c := newTestClient(Config{})

	for _, ref := range []string{ss.Host + "/alpine", ss.Host + "/library/alpine:latest"} {
		dst := openStore(t)
		img, err := c.Pull(bg(), dst, ref, PullOptions{})
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		want, _ := ss.s.Image("alpine")
		if img.ID != want.ID || img.ManifestDigest != want.ManifestDigest {
			t.Fatalf("pulled %s, served %s", img.ID, want.ID)
		}
		storetest.ValidateAll(t, dst.Root())
	}
	img, err := c.Pull(bg(), openStore(t), ss.Host+"/x:1", PullOptions{})
	if err != nil || img.ID != other.ID {
		t.Fatalf("pull of another registry's name by its path: %v", err)
	}

	// Another client agrees the served image is valid.
	ref, _ := name.ParseReference(ss.Host + "/alpine")
	ri, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(ri); err != nil {
		t.Fatalf("go-containerregistry finds the served image invalid: %v", err)
	}

	// A mirror rewrites docker.io pulls to the served store.
	mirrored := newTestClient(Config{Mirrors: []string{"http://" + ss.Host}})
	img, err = mirrored.Pull(bg(), openStore(t), "alpine", PullOptions{})
	if err != nil || img.ID != alpine.ID {
		t.Fatalf("pull through the served mirror: %v", err)
	}

	var tags struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if code := getJSON(t, ss.srv.URL+"/v2/alpine/tags/list", &tags); code != 200 || strings.Join(tags.Tags, ",") != "latest" {
		t.Errorf("tags/list: %d %+v", code, tags)
	}
	var catalog struct {
		Repositories []string `json:"repositories"`
	}
	if code := getJSON(t, ss.srv.URL+"/v2/_catalog", &catalog); code != 200 || strings.Join(catalog.Repositories, ",") != "library/alpine,x" {
		t.Errorf("catalog: %d %+v", code, catalog)
	}
	if !strings.Contains(ss.log.String(), "GET /v2/alpine/manifests/latest 200 ") {
		t.Errorf("request log:\n%s", ss.log.String())
	}

	_, err = c.Pull(bg(), openStore(t), ss.Host+"/alpine:nope", PullOptions{})
	if !errors.Is(err, ErrNotFound) || err.Error() != "manifest for "+ss.Host+"/alpine:nope not found: manifest unknown: manifest unknown" {
		t.Errorf("unknown tag: %v", err)
	}
	_, err = c.Pull(bg(), openStore(t), ss.Host+"/nothing", PullOptions{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "name unknown: repository name not known to registry") {
		t.Errorf("unknown repository: %v", err)
	}
}

func TestServeBlobRange(t *testing.T) {
	ss := serveStore(t, false)
	f := newFixture(t, fixtureOptions{})
	storeFixture(t, ss.s, f, "alpine")
	req, _ := http.NewRequest(http.MethodGet, ss.srv.URL+"/v2/alpine/blobs/"+f.Layers[0].Digest.String(), nil)
	req.Header.Set("Range", "bytes=2-5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, f.Layers[0].Blob[2:6]) {
		t.Fatalf("range: %s %q", resp.Status, body)
	}
}

func TestServeReadOnlyRefusesPush(t *testing.T) {
	ss := serveStore(t, false)
	src := openStore(t)
	storeFixture(t, src, newFixture(t, fixtureOptions{}), ss.Host+"/mine:1")
	_, err := newTestClient(Config{}).Push(bg(), src, ss.Host+"/mine:1", PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), "--allow-push") {
		t.Fatalf("got %v", err)
	}
	if images, _ := ss.s.Images(); len(images) != 0 {
		t.Fatalf("read-only registry stored %v", images)
	}
}

func TestServeAcceptsPushes(t *testing.T) {
	ss := serveStore(t, true)
	src := openStore(t)
	f := newFixture(t, fixtureOptions{})
	img := storeFixture(t, src, f, ss.Host+"/course/app:2")
	if _, err := pushClient().Push(bg(), src, ss.Host+"/course/app:2", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := ss.s.Image("course/app:2")
	if err != nil {
		t.Fatalf("pushed image not listed as course/app:2: %v", err)
	}
	if got.ManifestDigest != img.ManifestDigest || got.Size != img.Size {
		t.Fatalf("stored %s size %d, pushed %s size %d", got.ManifestDigest, got.Size, img.ManifestDigest, img.Size)
	}

	// go-containerregistry's writer (chunked uploads) works too.
	rnd := platformImage(t, "amd64")
	ref, _ := name.ParseReference(ss.Host + "/random:latest")
	if err := remote.Write(ref, rnd, pushAuth); err != nil {
		t.Fatalf("remote.Write into the served store: %v", err)
	}
	stored, err := ss.s.Image("random")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := rnd.Digest(); d.String() != stored.ManifestDigest.String() {
		t.Fatalf("stored %s, wrote %s", stored.ManifestDigest, d)
	}
	storetest.ValidateAll(t, ss.s.Root())

	// A blob whose bytes do not match the digest is refused.
	req, _ := http.NewRequest(http.MethodPost, ss.srv.URL+"/v2/bad/blobs/uploads/?digest="+digest.FromString("something else").String(), strings.NewReader("not it"))
	req.SetBasicAuth("berth", testPushToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad blob: %s", resp.Status)
	}
}

func TestRepoMatches(t *testing.T) {
	cases := []struct {
		full, repo string
		match      bool
	}{
		{"docker.io/library/alpine:latest", "alpine", true},
		{"docker.io/library/alpine:latest", "library/alpine", true},
		{"docker.io/rommelrico/redis:latest", "rommelrico/redis", true},
		{"docker.io/rommelrico/redis:latest", "redis", false},
		{"localhost:5000/x:1", "x", true},
		{"localhost:5000/x:1", "library/x", false},
	}
	for _, c := range cases {
		if got, _, _ := repoMatches(c.full, c.repo); got != c.match {
			t.Errorf("repoMatches(%q, %q) = %v", c.full, c.repo, got)
		}
	}
}
