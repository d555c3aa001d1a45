package registry

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// platformImage is a random image whose config names os/arch, as a child of
// a multi-platform index.
func platformImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// twoPlatformIndex is an index of a linux/amd64 and a linux/arm64 image.
func twoPlatformIndex(t *testing.T, mediaType types.MediaType) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	children := map[string]v1.Image{}
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img := platformImage(t, arch)
		if mediaType == types.DockerManifestList {
			img = mutate.MediaType(img, types.DockerManifestSchema2)
			img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
		}
		children[arch] = img
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), mediaType)
	return idx, children
}

func configDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestServeStoresPushedIndex(t *testing.T) {
	for _, mt := range []types.MediaType{types.OCIImageIndex, types.DockerManifestList} {
		t.Run(string(mt), func(t *testing.T) {
			ss := serveStore(t, true)
			idx, children := twoPlatformIndex(t, mt)
			ref, _ := name.ParseReference(ss.Host + "/multi:1")
			if err := remote.WriteIndex(ref, idx, pushAuth); err != nil {
				t.Fatalf("remote.WriteIndex into the served store: %v", err)
			}
			want, _ := idx.Digest()
			checkServedIndex(t, ss, idx, children)

			// The index is kept as a blob under its name; the store's
			// images, GC and validation cope with it.
			list, err := ss.s.Indexes()
			if err != nil || len(list) != 1 || list[0].Digest.String() != want.String() || string(list[0].MediaType) != string(mt) ||
				list[0].Annotations["org.opencontainers.image.ref.name"] != "docker.io/library/multi:1" {
				t.Fatalf("indexes: %+v %v", list, err)
			}
			// rmi of the children's images (pushed by digest) leaves the
			// index whole: GC keeps what it needs.
			images, _ := ss.s.Images()
			for _, img := range images {
				if err := ss.s.DeleteImage(img.ID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ss.s.GC(); err != nil {
				t.Fatal(err)
			}
			checkServedIndex(t, ss, idx, children)
			storetest.ValidateAll(t, ss.s.Root())

			// A registry started on a store that already holds the index
			// serves it.
			reopened, err := store.Open(ss.s.Root())
			if err != nil {
				t.Fatal(err)
			}
			defer reopened.Close()
			again := NewHandler(reopened, ServeOptions{})
			defer again.Close()
			ss.srv.Config.Handler = again
			checkServedIndex(t, ss, idx, children)
		})
	}
}

// checkServedIndex pulls the index back by tag and digest with
// go-containerregistry, and each platform with berth's pull.
func checkServedIndex(t *testing.T, ss *servedStore, idx v1.ImageIndex, children map[string]v1.Image) {
	t.Helper()
	want, _ := idx.Digest()
	wantMT, _ := idx.MediaType()
	for _, r := range []string{ss.Host + "/multi:1", ss.Host + "/multi@" + want.String()} {
		ref, _ := name.ParseReference(r)
		desc, err := remote.Get(ref)
		if err != nil {
			t.Fatalf("get %s: %v", r, err)
		}
		if desc.Digest != want || desc.MediaType != wantMT {
			t.Fatalf("%s: served %s %s, pushed %s %s", r, desc.MediaType, desc.Digest, wantMT, want)
		}
		got, err := desc.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := got.Digest(); d != want {
			t.Fatalf("%s: index digest %s, want %s", r, d, want)
		}
	}
	// Each child by digest, with its media type.
	for _, img := range children {
		d, _ := img.Digest()
		mt, _ := img.MediaType()
		ref, _ := name.ParseReference(ss.Host + "/multi@" + d.String())
		desc, err := remote.Get(ref)
		if err != nil || desc.Digest != d || desc.MediaType != mt {
			t.Fatalf("child %s: %v %+v", d, err, desc)
		}
	}
	c := newTestClient(Config{})
	host := HostPlatform()
	for _, p := range []string{"", "linux/amd64", "linux/arm64"} {
		arch := strings.TrimPrefix(p, "linux/")
		if p == "" {
			arch = host.Architecture
			if children[arch] == nil {
				continue // a host without a child here
			}
		}
		dst := openStore(t)
		img, err := c.Pull(bg(), dst, ss.Host+"/multi:1", PullOptions{Platform: p})
		if err != nil {
			t.Fatalf("pull --platform %q: %v", p, err)
		}
		if img.ID.String() != configDigest(t, children[arch]) || img.Config.Architecture != arch {
			t.Fatalf("pull --platform %q got %s (%s), want the %s child", p, img.ID, img.Config.Architecture, arch)
		}
		if rd, _ := dst.RepoDigests(img.ManifestDigest); len(rd) != 1 || !strings.HasSuffix(rd[0], "@"+want.String()) {
			t.Fatalf("pull --platform %q: repo digests %v, want the index's %s", p, rd, want)
		}
		storetest.ValidateAll(t, dst.Root())
	}
}

func TestServeIndexRefusals(t *testing.T) {
	ss := serveStore(t, true)
	put := func(ref string, body []byte, mt string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, ss.srv.URL+"/v2/multi/manifests/"+ref, bytes.NewReader(body))
		req.SetBasicAuth("berth", testPushToken)
		req.Header.Set("Content-Type", mt)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(msg)
	}
	oci := "application/vnd.oci.image.index.v1+json"
	// A child that was never pushed.
	missing := []byte(`{"schemaVersion":2,"mediaType":"` + oci + `","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` +
		digest.FromString("nothing").String() + `","size":10,"platform":{"os":"linux","architecture":"amd64"}}]}`)
	if code, msg := put("1", missing, oci); code != http.StatusBadRequest || !strings.Contains(msg, "MANIFEST_BLOB_UNKNOWN") || !strings.Contains(msg, "push it first") {
		t.Fatalf("index of an unknown child: %d %s", code, msg)
	}
	// A nested index.
	nested := []byte(`{"schemaVersion":2,"mediaType":"` + oci + `","manifests":[{"mediaType":"` + oci + `","digest":"` +
		digest.FromString("x").String() + `","size":1}]}`)
	if code, msg := put("1", nested, oci); code != http.StatusBadRequest || !strings.Contains(msg, "no nested indexes") {
		t.Fatalf("nested index: %d %s", code, msg)
	}
	// A digest that is not the content's.
	empty := []byte(`{"schemaVersion":2,"mediaType":"` + oci + `","manifests":[]}`)
	if code, msg := put(digest.FromString("other").String(), empty, oci); code != http.StatusBadRequest || !strings.Contains(msg, "DIGEST_INVALID") {
		t.Fatalf("index under a wrong digest: %d %s", code, msg)
	}
	// Nothing was kept, and the store is still valid.
	if list, err := ss.s.Indexes(); err != nil || len(list) != 0 {
		t.Fatalf("refused indexes were kept: %v %v", list, err)
	}
	if _, err := os.Stat(ss.s.Root() + "/indexes.json"); !os.IsNotExist(err) {
		t.Fatalf("indexes.json written for refused pushes: %v", err)
	}
	storetest.ValidateAll(t, ss.s.Root())
}

// A tag moves between an index and a single-platform image, both ways, as
// on Docker's registry.
func TestServeIndexTagMoves(t *testing.T) {
	ss := serveStore(t, true)
	idx, _ := twoPlatformIndex(t, types.OCIImageIndex)
	ref, _ := name.ParseReference(ss.Host + "/multi:1")
	single := platformImage(t, "amd64")
	if err := remote.Write(ref, single, pushAuth); err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, pushAuth); err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if want, _ := idx.Digest(); err != nil || desc.Digest != want {
		t.Fatalf("after the index push the tag serves %v %v", desc, err)
	}
	if _, err := ss.s.Image("multi:1"); err == nil {
		t.Fatal("the image kept the tag the index took")
	}
	if err := remote.Write(ref, single, pushAuth); err != nil {
		t.Fatal(err)
	}
	desc, err = remote.Get(ref)
	if want, _ := single.Digest(); err != nil || desc.Digest != want {
		t.Fatalf("after the image push the tag serves %v %v", desc, err)
	}
	if list, _ := ss.s.Indexes(); len(list) != 0 {
		t.Fatalf("the index kept the tag the image took: %v", list)
	}
	var tags struct {
		Tags []string `json:"tags"`
	}
	if code := getJSON(t, ss.srv.URL+"/v2/multi/tags/list", &tags); code != 200 || strings.Join(tags.Tags, ",") != "1" {
		t.Fatalf("tags: %d %v", code, tags)
	}
}
