package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestOpenMakesAnOCILayout(t *testing.T) {
	s := openStore(t)
	layout, err := os.ReadFile(filepath.Join(s.Root(), "oci-layout"))
	if err != nil {
		t.Fatal(err)
	}
	if string(layout) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", layout)
	}
	idx, err := s.ReadIndex()
	if err != nil {
		t.Fatal(err)
	}
	if idx.SchemaVersion != 2 || len(idx.Manifests) != 0 {
		t.Errorf("fresh index = %+v", idx)
	}
	for _, dir := range []string{"blobs/sha256", "layers", "containers", "cache", "tmp"} {
		if st, err := os.Stat(filepath.Join(s.Root(), dir)); err != nil || !st.IsDir() {
			t.Errorf("%s: %v", dir, err)
		}
	}
	if err := store.ValidateLayout(s); err != nil {
		t.Errorf("fresh layout: %v", err)
	}
}

func TestPutBlob(t *testing.T) {
	s := openStore(t)
	data := []byte("hello, blob")
	want := digest.FromBytes(data)

	t.Run("good digest", func(t *testing.T) {
		got, n, err := s.PutBlob(bytes.NewReader(data), want, int64(len(data)))
		if err != nil || got != want || n != int64(len(data)) {
			t.Fatalf("PutBlob = %s, %d, %v", got, n, err)
		}
		stored, err := os.ReadFile(s.BlobPath(want))
		if err != nil || !bytes.Equal(stored, data) {
			t.Fatalf("stored %q, %v", stored, err)
		}
	})
	t.Run("existing blob is success", func(t *testing.T) {
		got, _, err := s.PutBlob(strings.NewReader("never read"), want, int64(len(data)))
		if err != nil || got != want {
			t.Fatalf("PutBlob again = %s, %v", got, err)
		}
	})
	t.Run("bad digest stores nothing", func(t *testing.T) {
		other := []byte("other content")
		_, _, err := s.PutBlob(bytes.NewReader(other), digest.FromString("something else"), -1)
		if !errors.Is(err, store.ErrInvalidDigest) {
			t.Fatalf("err = %v, want ErrInvalidDigest", err)
		}
		if s.HasBlob(digest.FromBytes(other)) || s.HasBlob(digest.FromString("something else")) {
			t.Error("a blob with the wrong digest was stored")
		}
	})
	t.Run("bad size stores nothing", func(t *testing.T) {
		other := []byte("sized content")
		_, _, err := s.PutBlob(bytes.NewReader(other), digest.FromBytes(other), 3)
		if !errors.Is(err, store.ErrInvalidDigest) {
			t.Fatalf("err = %v, want ErrInvalidDigest", err)
		}
		if s.HasBlob(digest.FromBytes(other)) {
			t.Error("a blob with the wrong size was stored")
		}
	})
	t.Run("malformed digest", func(t *testing.T) {
		if _, _, err := s.PutBlob(bytes.NewReader(data), "sha256:nothex", -1); err == nil {
			t.Error("malformed digest accepted")
		}
	})
	entries, _ := os.ReadDir(s.TmpDir())
	if len(entries) != 0 {
		t.Errorf("ingest files left in tmp: %v", entries)
	}
	blobs, err := s.Blobs()
	if err != nil || len(blobs) != 1 || blobs[0] != want {
		t.Errorf("Blobs = %v, %v; want only %s", blobs, err, want)
	}
}

func TestReadBlobDetectsCorruption(t *testing.T) {
	s := openStore(t)
	d, err := s.PutBlobBytes([]byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.BlobPath(d), []byte(`{"a":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadBlob(d); !errors.Is(err, store.ErrInvalidDigest) {
		t.Errorf("ReadBlob of a changed blob: %v, want ErrInvalidDigest", err)
	}
}

func TestPutImageValidates(t *testing.T) {
	s := openStore(t)
	base := makeLayer(t, map[string]string{"etc/hostname": "berth\n"})
	top := makeLayer(t, map[string]string{"app/run.sh": "echo hi\n"})
	img := putImage(t, s, time.Unix(1700000000, 0).UTC(), "", base, top)
	if len(img.Refs) != 0 {
		t.Errorf("new image has refs %v", img.Refs)
	}
	if img.Size != base.size+top.size {
		t.Errorf("Size = %d, want %d", img.Size, base.size+top.size)
	}
	sizes, ok := img.LayerSizes()
	if !ok || len(sizes) != 2 || sizes[0] != base.size || sizes[1] != top.size {
		t.Errorf("LayerSizes = %v, %v", sizes, ok)
	}
	if img.ID != img.Manifest.Config.Digest || img.ShortID() != img.ID.Encoded()[:12] {
		t.Errorf("ID %s, config %s", img.ID, img.Manifest.Config.Digest)
	}
	got := storetest.ValidateAll(t, s.Root())
	if len(got) != 1 || got[0].ID != img.ID {
		t.Errorf("ValidateAll saw %d images", len(got))
	}
	// Storing the same image again changes nothing.
	again := putImage(t, s, time.Unix(1700000000, 0).UTC(), "", base, top)
	idx, _ := s.ReadIndex()
	if again.ID != img.ID || len(idx.Manifests) != 1 {
		t.Errorf("second PutImage: ID %s (want %s), %d index entries", again.ID, img.ID, len(idx.Manifests))
	}
}

// corrupt stores a valid image, breaks it with fn, and returns the problems.
func corrupt(t *testing.T, fn func(s *store.Store, img *store.Image)) string {
	t.Helper()
	s := openStore(t)
	img := putImage(t, s, time.Unix(1700000000, 0).UTC(), "",
		makeLayer(t, map[string]string{"a": "1"}), makeLayer(t, map[string]string{"b": "2"}))
	if err := store.Validate(s, img); err != nil {
		t.Fatalf("valid image rejected: %v", err)
	}
	fn(s, img)
	err := store.Validate(s, img)
	var verr *store.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	return err.Error()
}

func writeBlobRaw(t *testing.T, s *store.Store, d digest.Digest, data []byte) {
	t.Helper()
	if err := os.WriteFile(s.BlobPath(d), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestValidateFindsProblems(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, s *store.Store, img *store.Image)
		want   string
	}{
		{"layer blob flipped", func(t *testing.T, s *store.Store, img *store.Image) {
			d := img.Manifest.Layers[1].Digest
			data, _ := os.ReadFile(s.BlobPath(d))
			data[len(data)-5] ^= 0xff
			writeBlobRaw(t, s, d, data)
		}, "layer 2/2"},
		{"layer blob missing", func(t *testing.T, s *store.Store, img *store.Image) {
			os.Remove(s.BlobPath(img.Manifest.Layers[0].Digest))
		}, "layer 1/2 (sha256:" + ""},
		{"layer not gzip", func(t *testing.T, s *store.Store, img *store.Image) {
			writeBlobRaw(t, s, img.Manifest.Layers[0].Digest, []byte("plain text, not a layer"))
		}, "is tar"},
		{"wrong diff ID", func(t *testing.T, s *store.Store, img *store.Image) {
			cfg := img.Config
			cfg.RootFS.DiffIDs = []digest.Digest{cfg.RootFS.DiffIDs[1], cfg.RootFS.DiffIDs[0]}
			rewriteConfig(t, s, img, cfg)
		}, "the config's diff ID is"},
		{"history count", func(t *testing.T, s *store.Store, img *store.Image) {
			cfg := img.Config
			cfg.History = cfg.History[:1]
			rewriteConfig(t, s, img, cfg)
		}, "1 non-empty entries for 2 layers"},
		{"config changed", func(t *testing.T, s *store.Store, img *store.Image) {
			writeBlobRaw(t, s, img.ID, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
		}, "config: blob content hashes to"},
		{"manifest breaks the schema", func(t *testing.T, s *store.Store, img *store.Image) {
			m := img.Manifest
			m.Config.MediaType = "text/plain; not a media type"
			rewriteManifest(t, s, img, m)
		}, "config media type"},
		{"size annotation wrong", func(t *testing.T, s *store.Store, img *store.Image) {
			err := s.UpdateIndex(func(idx *ocispec.Index) error {
				idx.Manifests[0].Annotations[store.AnnotationLayerSizes] = "1,2"
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}, "index.json records 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := corrupt(t, func(s *store.Store, img *store.Image) { c.break_(t, s, img) })
			if !strings.Contains(msg, c.want) {
				t.Errorf("problems %q do not mention %q", msg, c.want)
			}
		})
	}
}

// rewriteConfig stores cfg as a new config and points a new manifest at it,
// replacing the image's index entry, so the image's own digests stay
// consistent and only the content is wrong.
func rewriteConfig(t *testing.T, s *store.Store, img *store.Image, cfg ocispec.Image) {
	t.Helper()
	desc, _, err := s.PutJSON(ocispec.MediaTypeImageConfig, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := img.Manifest
	m.Config = desc
	rewriteManifest(t, s, img, m)
	img.ID = desc.Digest
}

func rewriteManifest(t *testing.T, s *store.Store, img *store.Image, m ocispec.Manifest) {
	t.Helper()
	desc, _, err := s.PutJSON(ocispec.MediaTypeImageManifest, m)
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdateIndex(func(idx *ocispec.Index) error {
		for i := range idx.Manifests {
			if idx.Manifests[i].Digest == img.ManifestDigest {
				idx.Manifests[i].Digest = desc.Digest
				idx.Manifests[i].Size = desc.Size
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img.ManifestDigest = desc.Digest
	img.Manifest = m
}

func TestValidateLayoutFindsProblems(t *testing.T) {
	s := openStore(t)
	img := putImage(t, s, time.Unix(1, 0).UTC(), "", makeLayer(t, map[string]string{"a": "1"}))
	if _, err := s.Tag(img.ID, "busybox"); err != nil {
		t.Fatal(err)
	}
	err := s.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests[0].Size++
		idx.Manifests[0].Annotations[ocispec.AnnotationRefName] = "busybox:latest"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = store.ValidateLayout(s)
	if err == nil {
		t.Fatal("ValidateLayout passed a broken index")
	}
	for _, want := range []string{"descriptor says", `not in its full form "docker.io/library/busybox:latest"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %q", err, want)
		}
	}
}

func TestTagUntag(t *testing.T) {
	s := openStore(t)
	a := putImage(t, s, time.Unix(100, 0).UTC(), "", makeLayer(t, map[string]string{"a": "1"}))
	b := putImage(t, s, time.Unix(200, 0).UTC(), "", makeLayer(t, map[string]string{"b": "2"}))

	if prev, err := s.Tag(a.ID, "busybox"); err != nil || prev != "" {
		t.Fatalf("Tag = %s, %v", prev, err)
	}
	if _, err := s.Tag(a.ID, "rommelrico/redis:latest"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Image("busybox:latest")
	if err != nil || got.ID != a.ID {
		t.Fatalf("Image(busybox:latest) = %v, %v", got, err)
	}
	wantRefs := []string{"docker.io/library/busybox:latest", "docker.io/rommelrico/redis:latest"}
	if strings.Join(got.Refs, " ") != strings.Join(wantRefs, " ") {
		t.Errorf("Refs = %v, want %v", got.Refs, wantRefs)
	}
	// Moving a tag returns the previous holder, which stays listed untagged.
	prev, err := s.Tag(b.ID, "busybox:latest")
	if err != nil || prev != a.ID {
		t.Fatalf("moving tag: previous %s, %v; want %s", prev, err, a.ID)
	}
	if got, _ := s.Image("busybox"); got.ID != b.ID {
		t.Errorf("busybox now names %s, want %s", got.ID, b.ID)
	}
	if _, err := s.Untag("rommelrico/redis"); err != nil {
		t.Fatal(err)
	}
	images, _ := s.Images()
	if len(images) != 2 {
		t.Fatalf("%d images after untag, want 2 (a stays, untagged)", len(images))
	}
	for _, img := range images {
		if img.ID == a.ID && len(img.Refs) != 0 {
			t.Errorf("a still has refs %v", img.Refs)
		}
	}
	if _, err := s.Untag("rommelrico/redis"); !errors.Is(err, store.ErrNotFound) || err.Error() != "No such image: rommelrico/redis:latest" {
		t.Errorf("untag twice: %v", err)
	}
	if _, err := s.Tag(a.ID, "Busybox"); err == nil || err.Error() != "invalid reference format: repository name must be lowercase" {
		t.Errorf("bad tag name: %v", err)
	}
	if _, err := s.Tag(digest.FromString("nothing"), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tag of a missing image: %v", err)
	}
	storetest.ValidateAll(t, s.Root())
}

func TestDeleteImageAndGC(t *testing.T) {
	s := openStore(t)
	shared := makeLayer(t, map[string]string{"shared": "base"})
	own := makeLayer(t, map[string]string{"own": "top"})
	keep := putImage(t, s, time.Unix(100, 0).UTC(), "", shared)
	gone := putImage(t, s, time.Unix(200, 0).UTC(), keep.ID, shared, own)
	if _, err := s.Tag(gone.ID, "gone:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tag(gone.ID, "gone:2"); err != nil {
		t.Fatal(err)
	}
	// Unpacked layer dirs for both chain IDs.
	for _, chain := range gone.ChainIDs() {
		if err := s.CreateLayerDir(chain, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteImage(gone.ID); err != nil {
		t.Fatal(err)
	}
	images, _ := s.Images()
	if len(images) != 1 || images[0].ID != keep.ID {
		t.Fatalf("images after delete: %v", images)
	}
	for _, d := range []digest.Digest{gone.ManifestDigest, gone.ID, gone.Manifest.Layers[1].Digest} {
		if s.HasBlob(d) {
			t.Errorf("blob %s of the deleted image is still there", d)
		}
	}
	for _, d := range []digest.Digest{keep.ManifestDigest, keep.ID, keep.Manifest.Layers[0].Digest} {
		if !s.HasBlob(d) {
			t.Errorf("blob %s of the kept image was freed", d)
		}
	}
	chains := gone.ChainIDs()
	if !s.HasLayerDir(chains[0]) || s.HasLayerDir(chains[1]) {
		t.Errorf("layer dirs: shared %v (want kept), own %v (want freed)", s.HasLayerDir(chains[0]), s.HasLayerDir(chains[1]))
	}
	if err := s.DeleteImage(gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	// An orphan blob goes at the next GC.
	orphan, _ := s.PutBlobBytes([]byte("orphan"))
	res, err := s.GC()
	if err != nil || res.Blobs != 1 || res.BytesFreed != int64(len("orphan")) || s.HasBlob(orphan) {
		t.Errorf("GC = %+v, %v; orphan present %v", res, err, s.HasBlob(orphan))
	}
	storetest.ValidateAll(t, s.Root())
}

func TestGCKeepsLayersContainersUse(t *testing.T) {
	s := openStore(t)
	img := putImage(t, s, time.Unix(100, 0).UTC(), "", makeLayer(t, map[string]string{"a": "1"}))
	chain := img.ChainIDs()[0]
	if err := s.CreateLayerDir(chain, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c := &store.Container{ID: store.RandomID(), Image: img.ID.String(), LayerChainIDs: []string{chain.String()}}
	if err := s.PutContainer(c); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteImage(img.ID); err != nil {
		t.Fatal(err)
	}
	if !s.HasLayerDir(chain) {
		t.Error("GC removed a layer dir a container still uses")
	}
}

func TestFindImage(t *testing.T) {
	mk := func(hex string, refs ...string) *store.Image {
		return &store.Image{ID: digest.NewDigestFromEncoded(digest.SHA256, hex+strings.Repeat("0", 64-len(hex))), Refs: refs,
			ManifestDigest: digest.FromString(hex)}
	}
	a := mk("abcd1111", "docker.io/library/busybox:latest")
	b := mk("abcd2222", "docker.io/library/cafe:latest")
	c := mk("cafe3333")
	images := []*store.Image{a, b, c}
	cases := []struct {
		name string
		want *store.Image
		err  string
	}{
		{"busybox", a, ""},
		{"busybox:latest", a, ""},
		{"docker.io/library/busybox:latest", a, ""},
		{"abcd1", a, ""},
		{"sha256:abcd2", b, ""},
		{a.ID.String(), a, ""},
		{a.ID.Encoded(), a, ""},
		{"abcd", nil, "Multiple IDs found with provided prefix: abcd"},
		{"sha256:abcd", nil, "Multiple IDs found with provided prefix: abcd"},
		{"abc", nil, "No such image: abc:latest"},
		{"cafe", b, ""}, // a name first, as Docker
		{"cafe3", c, ""},
		{"busybox@" + a.ManifestDigest.String(), a, ""},
		{"nope", nil, "No such image: nope:latest"},
		{"sha256:ffff", nil, "No such image: sha256:ffff"},
		{"Busybox", nil, "invalid reference format: repository name must be lowercase"},
	}
	for _, c := range cases {
		got, err := store.FindImage(images, c.name)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("FindImage(%q) = %v, %v; want error %q", c.name, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("FindImage(%q) = %v, %v; want %s", c.name, got, err, c.want.ID)
		}
	}
	if _, err := store.FindImage(images, "abcd"); !errors.Is(err, store.ErrAmbiguous) || err.Error() != "Multiple IDs found with provided prefix: abcd" {
		t.Errorf("ambiguous error = %q", err)
	}
	if _, err := store.FindImage(images, "nope"); !errors.Is(err, store.ErrNotFound) || err.Error() != "No such image: nope:latest" {
		t.Errorf("not found error = %q", err)
	}
}

func TestNames(t *testing.T) {
	cases := []struct{ in, full, familiar, repo, tag string }{
		{"alpine", "docker.io/library/alpine:latest", "alpine:latest", "alpine", "latest"},
		{"rommelrico/redis:latest", "docker.io/rommelrico/redis:latest", "rommelrico/redis:latest", "rommelrico/redis", "latest"},
		{"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest", "localhost:5000/x", "latest"},
		{"quay.io/a/b:1.2", "quay.io/a/b:1.2", "quay.io/a/b:1.2", "quay.io/a/b", "1.2"},
		{"busybox@sha256:" + strings.Repeat("a", 64), "docker.io/library/busybox@sha256:" + strings.Repeat("a", 64),
			"busybox@sha256:" + strings.Repeat("a", 64), "busybox", "<none>"},
	}
	for _, c := range cases {
		ref, err := store.ParseRef(c.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if ref.String() != c.full {
			t.Errorf("ParseRef(%q) = %s, want %s", c.in, ref, c.full)
		}
		if f := store.Familiar(c.full); f != c.familiar {
			t.Errorf("Familiar(%q) = %s, want %s", c.full, f, c.familiar)
		}
		if repo, tag := store.SplitFamiliar(c.full); repo != c.repo || tag != c.tag {
			t.Errorf("SplitFamiliar(%q) = %s %s", c.full, repo, tag)
		}
	}
	bad := map[string]string{
		"Busybox":       "invalid reference format: repository name must be lowercase",
		"busybox:":      "invalid reference format",
		"":              "invalid reference format",
		"a b":           "invalid reference format",
		"busybox:la$t":  "invalid reference format",
		"-leading/dash": "invalid reference format",
	}
	for in, want := range bad {
		if _, err := store.ParseRef(in); err == nil || err.Error() != want {
			t.Errorf("ParseRef(%q) error = %v, want %q", in, err, want)
		}
	}
	if _, err := store.ParseTag("busybox@sha256:" + strings.Repeat("a", 64)); err == nil {
		t.Error("ParseTag accepted a digest")
	}
}

// TestConcurrentTagging runs writers through separate Store handles (as
// separate processes would: flock is per open file) and checks that no tag
// is lost and index.json stays valid.
func TestConcurrentTagging(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	img := putImage(t, s, time.Unix(100, 0).UTC(), "", makeLayer(t, map[string]string{"a": "1"}))
	const writers, tagsEach = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*tagsEach)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := store.Open(root)
			if err != nil {
				errs <- err
				return
			}
			defer h.Close()
			for i := 0; i < tagsEach; i++ {
				if _, err := h.Tag(img.ID, "w"+string(rune('a'+w))+":"+string(rune('a'+i))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	data, _ := os.ReadFile(filepath.Join(root, "index.json"))
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("index.json is not JSON after concurrent tagging: %v", err)
	}
	if len(idx.Manifests) != writers*tagsEach {
		t.Errorf("%d index entries, want %d", len(idx.Manifests), writers*tagsEach)
	}
	storetest.ValidateAll(t, root)
}

func TestLeftoversCleanedWhenAlone(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(s.TmpDir(), "ingest-123")
	os.WriteFile(stale, []byte("half a blob"), 0o600)
	os.Mkdir(filepath.Join(s.LayersDir(), ".tmp-abc"), 0o700)
	// Another handle while s is open must not clean: s might be ingesting.
	other, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	if _, err := os.Stat(stale); err != nil {
		t.Fatal("leftovers cleaned while another handle was open")
	}
	s.Close()
	again, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("ingest leftover survived a lone Open")
	}
	if _, err := os.Stat(filepath.Join(s.LayersDir(), ".tmp-abc")); !errors.Is(err, os.ErrNotExist) {
		t.Error("half unpacked layer survived a lone Open")
	}
}

// TestGCLeavesFreshOrphansWhileOthersWrite: a blob no image names yet may
// be half of an image another process is storing, so GC leaves young ones
// alone while another handle has the store open.
func TestGCLeavesFreshOrphansWhileOthersWrite(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	orphan, _ := s.PutBlobBytes([]byte("being loaded by someone else"))
	other, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.GC(); err != nil || res.Blobs != 0 || !s.HasBlob(orphan) {
		t.Errorf("GC with another handle open = %+v, %v; orphan kept %v", res, err, s.HasBlob(orphan))
	}
	// An old orphan is fair game even then.
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(s.BlobPath(orphan), old, old)
	if res, err := s.GC(); err != nil || res.Blobs != 1 || s.HasBlob(orphan) {
		t.Errorf("GC of an old orphan = %+v, %v", res, err)
	}
	fresh, _ := s.PutBlobBytes([]byte("another"))
	other.Close()
	if res, err := s.GC(); err != nil || res.Blobs != 1 || s.HasBlob(fresh) {
		t.Errorf("GC alone = %+v, %v; want the fresh orphan freed", res, err)
	}
}
