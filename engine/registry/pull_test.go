package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/berthkit/berth/trace"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
)

func TestPullMediaTypesAndCompressions(t *testing.T) {
	cases := []struct {
		name string
		opts fixtureOptions
	}{
		{"oci-gzip", fixtureOptions{}},
		{"oci-zstd", fixtureOptions{Compression: "zstd"}},
		{"oci-uncompressed", fixtureOptions{Compression: "none"}},
		{"docker-gzip", fixtureOptions{Docker: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := newTestRegistry(t, nil)
			f := newFixture(t, tc.opts)
			f.pushRaw(t, reg.Host, "test/img", "v1")
			s := openStore(t)
			events, emit := recorder()
			var out bytes.Buffer
			img, err := newTestClient(Config{}).Pull(bg(), s, reg.Host+"/test/img:v1", PullOptions{Progress: &out, Emit: emit})
			if err != nil {
				t.Fatalf("pull: %v\n%s", err, out.String())
			}
			if img.ID != f.ID || img.ManifestDigest != f.Digest {
				t.Fatalf("got image %s manifest %s, want %s %s", img.ID, img.ManifestDigest, f.ID, f.Digest)
			}
			// Stored byte for byte.
			data, mediaType, err := s.ManifestBytes(img)
			if err != nil || !bytes.Equal(data, f.Manifest) || mediaType != f.ManifestType {
				t.Fatalf("stored manifest differs (media type %q, err %v)", mediaType, err)
			}
			var wantSize int64
			for _, l := range f.Layers {
				wantSize += l.TarSize
			}
			if img.Size != wantSize {
				t.Errorf("size %d, want %d (uncompressed)", img.Size, wantSize)
			}
			if got, _ := s.RepoDigests(img.ManifestDigest); len(got) != 1 || got[0] != reg.Host+"/test/img@"+f.Digest.String() {
				t.Errorf("repo digests %v", got)
			}
			images := storetest.ValidateAll(t, s.Root())
			if len(images) != 1 || len(images[0].Refs) != 1 || images[0].Refs[0] != reg.Host+"/test/img:v1" {
				t.Fatalf("images after pull: %+v", images)
			}
			want := fmt.Sprintf("v1: Pulling from test/img\n"+
				"%s: Pulling fs layer\n%s: Pulling fs layer\n", f.Layers[0].Digest.Encoded()[:12], f.Layers[1].Digest.Encoded()[:12])
			if !strings.HasPrefix(out.String(), want) {
				t.Errorf("output starts\n%s\nwant\n%s", out.String(), want)
			}
			for _, line := range []string{
				f.Layers[0].Digest.Encoded()[:12] + ": Download complete\n",
				f.Layers[1].Digest.Encoded()[:12] + ": Pull complete\n",
				"Digest: " + f.Digest.String() + "\n",
				"Status: Downloaded newer image for " + reg.Host + "/test/img:v1\n",
			} {
				if !strings.Contains(out.String(), line) {
					t.Errorf("output lacks %q:\n%s", line, out.String())
				}
			}
			if !strings.HasSuffix(out.String(), "\nStatus: Downloaded newer image for "+reg.Host+"/test/img:v1\n") {
				t.Errorf("output does not end with the status (the CLI prints the name):\n%s", out.String())
			}
			if n := len(events.OfType(trace.PullBlob)); n != 3 {
				t.Errorf("%d pull.blob events, want 3 (config and 2 layers)", n)
			}
			end := events.OfType(trace.PullEnd)
			if len(end) != 1 || end[0].Pull.Image != f.ID.String() || end[0].Pull.Digest != f.Digest.String() || end[0].Pull.Bytes == 0 {
				t.Errorf("pull.end: %+v", end)
			}
		})
	}
}

func TestPullUpToDateFetchesNoBlob(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{})
	f.pushRaw(t, reg.Host, "x", "latest")
	s := openStore(t)
	c := newTestClient(Config{})
	if _, err := c.Pull(bg(), s, reg.Host+"/x", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	reg.Hits()
	var out bytes.Buffer
	events, emit := recorder()
	img, err := c.Pull(bg(), s, reg.Host+"/x", PullOptions{Progress: &out, Emit: emit})
	if err != nil {
		t.Fatal(err)
	}
	want := "latest: Pulling from x\nDigest: " + f.Digest.String() +
		"\nStatus: Image is up to date for " + reg.Host + "/x:latest\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	if img.ID != f.ID {
		t.Errorf("image %s", img.ID)
	}
	hits := reg.Hits()
	if n := countPrefix(hits, "GET /v2/x/blobs/"); n != 0 {
		t.Errorf("up-to-date pull fetched %d blobs: %v", n, hits)
	}
	if end := events.OfType(trace.PullEnd); len(end) != 1 || !end[0].Pull.UpToDate {
		t.Errorf("pull.end not up to date: %+v", end)
	}
}

func TestPullReusesStoredLayers(t *testing.T) {
	reg := newTestRegistry(t, nil)
	base := map[string]string{"etc/os-release": "NAME=base\n"}
	a := newFixture(t, fixtureOptions{Layers: []map[string]string{base, {"a": "a"}}})
	b := newFixture(t, fixtureOptions{Layers: []map[string]string{base, {"b": "b"}}})
	a.pushRaw(t, reg.Host, "app", "a")
	b.pushRaw(t, reg.Host, "app", "b")
	s := openStore(t)
	c := newTestClient(Config{})
	if _, err := c.Pull(bg(), s, reg.Host+"/app:a", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	reg.Hits()
	var out bytes.Buffer
	events, emit := recorder()
	img, err := c.Pull(bg(), s, reg.Host+"/app:b", PullOptions{Progress: &out, Emit: emit})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), b.Layers[0].Digest.Encoded()[:12]+": Already exists\n") {
		t.Errorf("shared layer not reported as existing:\n%s", out.String())
	}
	if got := reg.Hits(); countPrefix(got, "GET /v2/app/blobs/"+b.Layers[0].Digest.String()) != 0 {
		t.Errorf("shared layer fetched again: %v", got)
	}
	reused := 0
	for _, e := range events.OfType(trace.PullBlob) {
		if e.Blob.Reused {
			reused++
		}
	}
	if reused != 1 {
		t.Errorf("%d reused blobs in events, want 1", reused)
	}
	if img.Size != b.Layers[0].TarSize+b.Layers[1].TarSize {
		t.Errorf("size %d", img.Size)
	}
	storetest.ValidateAll(t, s.Root())
}

func TestPullIndexPicksPlatform(t *testing.T) {
	for _, docker := range []bool{false, true} {
		t.Run(fmt.Sprintf("docker=%v", docker), func(t *testing.T) {
			reg := newTestRegistry(t, nil)
			amd := newFixture(t, fixtureOptions{Docker: docker, Arch: "amd64"})
			arm := newFixture(t, fixtureOptions{Docker: docker, Arch: "arm64", Layers: []map[string]string{{"arm": "64"}}})
			indexDigest := pushIndex(t, reg.Host, "multi", "latest", docker, amd, arm)
			c := newTestClient(Config{})

			s := openStore(t)
			img, err := c.Pull(bg(), s, reg.Host+"/multi", PullOptions{Platform: "linux/arm64"})
			if err != nil {
				t.Fatal(err)
			}
			if img.ID != arm.ID || img.ManifestDigest != arm.Digest {
				t.Fatalf("got %s, want the arm64 image %s", img.ID, arm.ID)
			}
			if rd, _ := s.RepoDigests(img.ManifestDigest); len(rd) != 1 || rd[0] != reg.Host+"/multi@"+indexDigest.String() {
				t.Errorf("repo digest %v, want the index digest %s", rd, indexDigest)
			}
			storetest.ValidateAll(t, s.Root())

			s2 := openStore(t)
			var out bytes.Buffer
			img, err = c.Pull(bg(), s2, reg.Host+"/multi", PullOptions{Platform: "linux/amd64", Progress: &out})
			if err != nil {
				t.Fatal(err)
			}
			if img.ID != amd.ID {
				t.Fatalf("got %s, want amd64 %s", img.ID, amd.ID)
			}
			if !strings.Contains(out.String(), "Digest: "+indexDigest.String()) {
				t.Errorf("Digest line should show the index digest:\n%s", out.String())
			}

			_, err = c.Pull(bg(), openStore(t), reg.Host+"/multi", PullOptions{Platform: "linux/s390x"})
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no matching manifest for linux/s390x in the manifest list entries") {
				t.Fatalf("want no matching manifest, got %v", err)
			}
		})
	}
}

func TestPullPlatformMismatchOfSingleImage(t *testing.T) {
	reg := newTestRegistry(t, nil)
	newFixture(t, fixtureOptions{Arch: "amd64"}).pushRaw(t, reg.Host, "one", "latest")
	s := openStore(t)
	_, err := newTestClient(Config{}).Pull(bg(), s, reg.Host+"/one", PullOptions{Platform: "linux/arm64"})
	if err == nil || !strings.Contains(err.Error(), "does not match the specified platform: wanted linux/arm64, actual: linux/amd64") {
		t.Fatalf("got %v", err)
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Fatalf("an image was stored: %v", images)
	}
}

func TestPullByDigest(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{})
	f.pushRaw(t, reg.Host, "d", "latest")
	s := openStore(t)
	var out bytes.Buffer
	ref := reg.Host + "/d@" + f.Digest.String()
	img, err := newTestClient(Config{}).Pull(bg(), s, ref, PullOptions{Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != f.ID || len(img.Refs) != 1 || img.Refs[0] != ref {
		t.Fatalf("got %s refs %v", img.ID, img.Refs)
	}
	if strings.Contains(out.String(), "Using default tag") || !strings.HasPrefix(out.String(), f.Digest.String()+": Pulling from d\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestPullManifestUnknown(t *testing.T) {
	reg := newTestRegistry(t, nil)
	newFixture(t, fixtureOptions{}).pushRaw(t, reg.Host, "x", "latest")
	_, err := newTestClient(Config{}).Pull(bg(), openStore(t), reg.Host+"/x:nope", PullOptions{})
	want := "manifest for " + reg.Host + "/x:nope not found: manifest unknown: "
	if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want prefix %q", err, want)
	}
}

// A registry that serves a layer whose bytes do not match its digest is
// refused, and nothing is stored: no image, no blob, no ingest file.
func TestPullRejectsBlobDigestMismatch(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	bad := f.Layers[1].Digest
	reg := newTestRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+bad.String()) {
				body := bytes.Repeat([]byte{'x'}, int(len(f.Layers[1].Blob)))
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.Write(body)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	f.pushRaw(t, reg.Host, "evil", "latest")
	s := openStore(t)
	_, err := newTestClient(Config{}).Pull(bg(), s, reg.Host+"/evil", PullOptions{})
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "filesystem layer verification failed for digest "+bad.String()) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "nothing was stored") {
		t.Errorf("message should say nothing was stored: %v", err)
	}
	if s.HasBlob(bad) {
		t.Error("the bad blob was stored")
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Errorf("an image was listed: %v", images)
	}
	if entries, _ := os.ReadDir(s.TmpDir()); len(entries) != 0 {
		t.Errorf("ingest files left: %v", entries)
	}
}

func TestPullRejectsDiffIDMismatch(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{CorruptDiffID: true})
	f.pushRaw(t, reg.Host, "lie", "latest")
	s := openStore(t)
	_, err := newTestClient(Config{}).Pull(bg(), s, reg.Host+"/lie", PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "diff ID") {
		t.Fatalf("got %v", err)
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Errorf("an image was listed: %v", images)
	}
}

func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestPullUnauthorized(t *testing.T) {
	reg := newTestRegistry(t, basicAuth("ann", "secret"))
	f := newFixture(t, fixtureOptions{})
	s := openStore(t)
	_, err := newTestClient(Config{}).Pull(bg(), s, reg.Host+"/private", PullOptions{})
	want := "unauthorized: authentication required (run `berth login " + reg.Host + "` and try again)"
	if !errors.Is(err, ErrUnauthorized) || err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}

	// With credentials the same registry serves.
	authed := NewClient(Options{Keychain: staticKeychain{"ann", "secret"}})
	sess, err := authed.Open(bg(), mustRepo(t, authed, reg.Host+"/private"), Push)
	if err != nil {
		t.Fatal(err)
	}
	pushFixtureWith(t, sess, f, "latest")
	img, err := authed.Pull(bg(), s, reg.Host+"/private", PullOptions{})
	if err != nil || img.ID != f.ID {
		t.Fatalf("authenticated pull: %v", err)
	}

	// Wrong credentials are told apart from missing ones.
	wrong := NewClient(Options{Keychain: staticKeychain{"ann", "guess"}})
	_, err = wrong.Pull(bg(), openStore(t), reg.Host+"/private", PullOptions{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "refused the credentials stored for "+reg.Host) {
		t.Fatalf("got %v", err)
	}
}

func mustRepo(t *testing.T, c *Client, s string) name.Repository {
	t.Helper()
	r, err := c.Repository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pushFixtureWith pushes a fixture through a session (for registries that
// want credentials).
func pushFixtureWith(t *testing.T, sess *Session, f *fixtureImage, tag string) {
	t.Helper()
	for _, blob := range append([][]byte{f.Config}, layerBlobs(f)...) {
		if _, err := sess.UploadBlob(bg(), digest.FromBytes(blob), int64(len(blob)), bytes.NewReader(blob), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.PutManifest(bg(), tag, f.ManifestType, f.Manifest); err != nil {
		t.Fatal(err)
	}
}

func layerBlobs(f *fixtureImage) [][]byte {
	var out [][]byte
	for _, l := range f.Layers {
		out = append(out, l.Blob)
	}
	return out
}

func TestPullUnreachable(t *testing.T) {
	reg := newTestRegistry(t, nil)
	host := reg.Host
	reg.srv.Close()
	_, err := newTestClient(Config{}).Pull(bg(), openStore(t), host+"/x", PullOptions{})
	if !errors.Is(err, ErrUnreachable) || !strings.HasPrefix(err.Error(), "cannot reach registry "+host+": ") {
		t.Fatalf("got %v", err)
	}
}

// A pull killed half way leaves no name, keeps the blobs it completed, and
// the next pull fetches only the rest.
func TestPullInterruptedThenResumed(t *testing.T) {
	f := newFixture(t, fixtureOptions{Layers: []map[string]string{{"one": "1"}, {"two": strings.Repeat("2", 1<<20)}}})
	slow := f.Layers[1].Digest
	block := make(chan struct{})
	blocking := true
	reg := newTestRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if blocking && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+slow.String()) {
				w.Header().Set("Content-Length", fmt.Sprint(len(f.Layers[1].Blob)))
				w.Write(f.Layers[1].Blob[:100])
				w.(http.Flusher).Flush()
				select {
				case <-block:
				case <-r.Context().Done():
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	f.pushRaw(t, reg.Host, "big", "latest")
	s := openStore(t)
	c := newTestClient(Config{})
	ctx, cancel := context.WithCancel(bg())
	go func() {
		// Cancel once the first layer is in.
		for !s.HasBlob(f.Layers[0].Digest) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Pull(ctx, s, reg.Host+"/big", PullOptions{})
	close(block)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want an interrupted pull, got %v", err)
	}
	if images, _ := s.Images(); len(images) != 0 {
		t.Fatalf("interrupted pull listed an image: %v", images)
	}
	if !s.HasBlob(f.Layers[0].Digest) || s.HasBlob(slow) {
		t.Fatal("want the complete blob kept and the partial one absent")
	}

	blocking = false
	reg.Hits()
	var out bytes.Buffer
	img, err := c.Pull(bg(), s, reg.Host+"/big", PullOptions{Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != f.ID || !strings.Contains(out.String(), f.Layers[0].Digest.Encoded()[:12]+": Already exists") {
		t.Fatalf("resumed pull:\n%s", out.String())
	}
	if n := countPrefix(reg.Hits(), "GET /v2/big/blobs/"+f.Layers[0].Digest.String()); n != 0 {
		t.Errorf("complete blob fetched again")
	}
	storetest.ValidateAll(t, s.Root())
}

func TestPullThroughMirror(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{Docker: true})
	f.pushRaw(t, reg.Host, "library/alpine", "3.20")
	s := openStore(t)
	var out bytes.Buffer
	c := newTestClient(Config{Mirrors: []string{"http://" + reg.Host}})
	img, err := c.Pull(bg(), s, "alpine:3.20", PullOptions{Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != f.ID || img.Refs[0] != "docker.io/library/alpine:3.20" {
		t.Fatalf("got %s %v", img.ID, img.Refs)
	}
	if !strings.HasPrefix(out.String(), "3.20: Pulling from library/alpine\n") || !strings.HasSuffix(out.String(), "Status: Downloaded newer image for alpine:3.20\n") {
		t.Errorf("output:\n%s", out.String())
	}
	if rd, _ := s.RepoDigests(img.ManifestDigest); len(rd) != 1 || rd[0] != "docker.io/library/alpine@"+f.Digest.String() {
		t.Errorf("repo digest %v", rd)
	}
}

func TestPullNamesInvalidReference(t *testing.T) {
	_, err := newTestClient(Config{}).Pull(bg(), openStore(t), "Alpine", PullOptions{})
	if err == nil || err.Error() != "invalid reference format: repository name must be lowercase" {
		t.Fatalf("got %v", err)
	}
}

// A mirror that lacks the image is passed over, and when Docker Hub cannot
// be reached either, the error says what the mirror answered.
func TestPullMirrorMissSaysWhy(t *testing.T) {
	reg := newTestRegistry(t, nil)
	newFixture(t, fixtureOptions{}).pushRaw(t, reg.Host, "library/other", "latest")
	events, emit := recorder()
	c := NewClient(Options{Config: Config{Mirrors: []string{"http://" + reg.Host}}, Keychain: anonymous,
		// Docker Hub is unreachable from tests; fail fast instead of dialing.
		Transport: hubless{http.DefaultTransport}})
	_, err := c.Pull(bg(), openStore(t), "alpine:3.20", PullOptions{Emit: emit})
	if err == nil || !strings.Contains(err.Error(), "(tried first: mirror "+reg.Host+": ") {
		t.Fatalf("got %v", err)
	}
	if msgs := events.OfType(trace.Message); len(msgs) != 1 || !strings.Contains(msgs[0].Message.Text, "mirror "+reg.Host+" could not serve alpine:3.20") {
		t.Fatalf("messages %+v", msgs)
	}
}

// hubless refuses every request to Docker Hub as if offline.
type hubless struct{ next http.RoundTripper }

func (h hubless) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Host, "docker.io") {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("network is unreachable")}
	}
	return h.next.RoundTrip(req)
}
