package registry

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/berthkit/berth/trace"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestPushThenPullBack(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{})
	src := openStore(t)
	img := storeFixture(t, src, f, reg.Host+"/team/app:1.0")
	c := newTestClient(Config{})

	var out bytes.Buffer
	events, emit := recorder()
	res, err := c.Push(bg(), src, reg.Host+"/team/app:1.0", PushOptions{Progress: &out, Emit: emit})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out.String())
	}
	if res.Digest != img.ManifestDigest {
		t.Fatalf("pushed digest %s, store has %s", res.Digest, img.ManifestDigest)
	}
	top, base := img.Manifest.Layers[1].Digest.Encoded()[:12], img.Manifest.Layers[0].Digest.Encoded()[:12]
	want := "The push refers to repository [" + reg.Host + "/team/app]\n" +
		top + ": Preparing\n" + base + ": Preparing\n"
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("output\n%s\nwant prefix\n%s", out.String(), want)
	}
	for _, line := range []string{top + ": Pushed\n", base + ": Pushed\n"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q", line)
		}
	}
	if !strings.HasSuffix(out.String(), "1.0: digest: "+img.ManifestDigest.String()+" size: "+strconv.FormatInt(res.Size, 10)+"\n") {
		t.Errorf("output does not end with the digest line:\n%s", out.String())
	}
	if n := len(events.OfType(trace.PushBlob)); n != 3 {
		t.Errorf("%d push.blob events, want 3", n)
	}
	if end := events.OfType(trace.PushEnd); len(end) != 1 || end[0].Pull.Digest != img.ManifestDigest.String() || end[0].Pull.Error != "" {
		t.Errorf("push.end %+v", end)
	}
	if rd, _ := src.RepoDigests(img.ManifestDigest); len(rd) != 1 || rd[0] != reg.Host+"/team/app@"+img.ManifestDigest.String() {
		t.Errorf("repo digests after push: %v", rd)
	}

	// An independent client sees a valid image with the same digest.
	ref, err := name.ParseReference(reg.Host + "/team/app:1.0")
	if err != nil {
		t.Fatal(err)
	}
	remoteImg, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(remoteImg); err != nil {
		t.Fatalf("go-containerregistry finds the pushed image invalid: %v", err)
	}
	if d, _ := remoteImg.Digest(); d.String() != img.ManifestDigest.String() {
		t.Errorf("registry digest %s", d)
	}

	// Pull it back into another store: same image ID.
	dst := openStore(t)
	pulled, err := c.Pull(bg(), dst, reg.Host+"/team/app:1.0", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pulled.ID != img.ID || pulled.ManifestDigest != img.ManifestDigest {
		t.Fatalf("pulled %s, pushed %s", pulled.ID, img.ID)
	}
	storetest.ValidateAll(t, dst.Root())

	// Pushing again sends nothing new.
	out.Reset()
	reg.Hits()
	if _, err := c.Push(bg(), src, reg.Host+"/team/app:1.0", PushOptions{Progress: &out}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), ": Layer already exists\n") != 2 {
		t.Errorf("second push:\n%s", out.String())
	}
	if n := countPrefix(reg.Hits(), "PUT /v2/team/app/blobs/"); n != 0 {
		t.Errorf("second push uploaded %d blobs", n)
	}
}

func TestPushMountsFromAnotherRepository(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{})
	s := openStore(t)
	img := storeFixture(t, s, f, reg.Host+"/one:latest")
	c := newTestClient(Config{})
	if _, err := c.Push(bg(), s, reg.Host+"/one", PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tag(img.ID, reg.Host+"/two:latest"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := c.Push(bg(), s, reg.Host+"/two", PushOptions{Progress: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "The push refers to repository ["+reg.Host+"/two]\n") {
		t.Errorf("output:\n%s", out.String())
	}
	// go-containerregistry's registry answers a HEAD in the new repository
	// for any blob it holds, or mounts: either way nothing is uploaded.
	if strings.Contains(out.String(), ": Pushed") {
		t.Errorf("layers uploaded again instead of mounted:\n%s", out.String())
	}
}

func TestPushErrors(t *testing.T) {
	reg := newTestRegistry(t, basicAuth("ann", "secret"))
	s := openStore(t)
	storeFixture(t, s, newFixture(t, fixtureOptions{}), reg.Host+"/x:latest")
	c := newTestClient(Config{})

	_, err := c.Push(bg(), s, reg.Host+"/x", PushOptions{})
	want := "unauthorized: authentication required (run `berth login " + reg.Host + "` and try again)"
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v", err)
	}

	_, err = c.Push(bg(), s, reg.Host+"/missing:1", PushOptions{})
	if err == nil || err.Error() != "An image does not exist locally with the tag: "+reg.Host+"/missing" {
		t.Fatalf("got %v", err)
	}
	_, err = c.Push(bg(), s, reg.Host+"/x@sha256:"+strings.Repeat("a", 64), PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "cannot push a digest reference") {
		t.Fatalf("got %v", err)
	}
}

func TestRemoteTags(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{})
	for _, tag := range []string{"1", "2", "latest"} {
		f.pushRaw(t, reg.Host, "tagged", tag)
	}
	tags, err := newTestClient(Config{}).RemoteTags(bg(), reg.Host+"/tagged")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tags, ",") != "1,2,latest" {
		t.Fatalf("tags %v", tags)
	}
}

func TestNextLink(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://r:5000/v2/x/tags/list?n=2", nil)
	if got := nextLink(req.URL, `</v2/x/tags/list?last=b&n=2>; rel="next"`); got != "http://r:5000/v2/x/tags/list?last=b&n=2" {
		t.Errorf("got %q", got)
	}
	if got := nextLink(req.URL, `<http://evil/v2/x/tags/list>; rel="next"`); got != "" {
		t.Errorf("followed a link to another host: %q", got)
	}
	if got := nextLink(req.URL, ""); got != "" {
		t.Errorf("got %q", got)
	}
}
