package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/berthkit/berth/trace"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pushCompressed pushes the fixture stored under name with --compression c
// and checks what the registry got with go-containerregistry, then pulls it
// back with Berth: same config (image ID), layers in c, diff IDs verified.
func pushCompressed(t *testing.T, reg *testRegistry, f *fixtureImage, c string) (*store.Image, PushResult, *store.Image) {
	t.Helper()
	src := openStore(t)
	ref := reg.Host + "/team/conv:" + c
	img := storeFixture(t, src, f, ref)
	cl := newTestClient(Config{})
	var out bytes.Buffer
	events, emit := recorder()
	res, err := cl.Push(bg(), src, ref, PushOptions{Progress: &out, Emit: emit, Compression: c})
	if err != nil {
		t.Fatalf("push --compression %s: %v\n%s", c, err, out.String())
	}
	if !strings.HasSuffix(out.String(), "digest: "+res.Digest.String()+" size: "+strconv.FormatInt(res.Size, 10)+"\n") {
		t.Errorf("output does not end with the pushed digest:\n%s", out.String())
	}
	if n := len(events.OfType(trace.PushBlob)); n != len(f.Layers)+1 {
		t.Errorf("%d push.blob events, want %d", n, len(f.Layers)+1)
	}

	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	remoteImg, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	// validate.Image reads layers as gzip only: it checks the manifest and
	// config, and each layer is checked here through go-containerregistry's
	// own decompression (gzip or zstd), against digest and diff ID.
	if err := validate.Image(remoteImg, validate.Fast); err != nil {
		t.Fatalf("go-containerregistry finds the image pushed with --compression %s invalid: %v", c, err)
	}
	ggcrCheckLayers(t, remoteImg)
	if d, _ := remoteImg.Digest(); d.String() != res.Digest.String() {
		t.Errorf("registry digest %s, push said %s", d, res.Digest)
	}
	if cd, _ := remoteImg.ConfigName(); cd.String() != img.ID.String() {
		t.Errorf("registry config %s, stored %s: recompressing must not change the config", cd, img.ID)
	}
	// The source store is unchanged, and stays clean (no temporary files).
	if again, err := src.Image(ref); err != nil || again.ManifestDigest != img.ManifestDigest {
		t.Errorf("the stored image changed: %v", err)
	}
	if left, _ := os.ReadDir(src.TmpDir()); len(left) != 0 {
		t.Errorf("push left %d temporary files in the store", len(left))
	}
	// The store's image is not the registry's manifest: no repo digest
	// may say it is.
	if rds, _ := src.RepoDigests(img.ManifestDigest); res.Digest != img.ManifestDigest && len(rds) != 0 {
		t.Errorf("repo digests %v recorded for a manifest the registry does not have", rds)
	}
	storetest.ValidateAll(t, src.Root())

	dst := openStore(t)
	pulled, err := cl.Pull(bg(), dst, ref, PullOptions{})
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	if pulled.ID != img.ID || pulled.ManifestDigest != res.Digest {
		t.Errorf("pulled %s (manifest %s), pushed config %s (manifest %s)", pulled.ID, pulled.ManifestDigest, img.ID, res.Digest)
	}
	storetest.ValidateAll(t, dst.Root())
	return img, res, pulled
}

func TestPushCompressionZstdFromDockerGzip(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{Docker: true})
	img, res, pulled := pushCompressed(t, reg, f, "zstd")
	if res.Digest == img.ManifestDigest {
		t.Fatal("the manifest was pushed unchanged")
	}
	m := pulled.Manifest
	if m.MediaType != ocispec.MediaTypeImageManifest || m.Config.MediaType != ocispec.MediaTypeImageConfig {
		t.Errorf("manifest %q, config %q: a zstd image needs OCI media types", m.MediaType, m.Config.MediaType)
	}
	for i, l := range m.Layers {
		if l.MediaType != ocispec.MediaTypeImageLayerZstd {
			t.Errorf("layer %d is %s", i, l.MediaType)
		}
		if l.Digest == f.Layers[i].Digest {
			t.Errorf("layer %d was not recompressed", i)
		}
	}
}

func TestPushCompressionGzipFromZstd(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{Compression: "zstd"})
	_, _, pulled := pushCompressed(t, reg, f, "gzip")
	for i, l := range pulled.Manifest.Layers {
		if l.MediaType != ocispec.MediaTypeImageLayerGzip {
			t.Errorf("layer %d is %s", i, l.MediaType)
		}
	}
}

func TestPushCompressionAlreadyThereKeepsManifest(t *testing.T) {
	reg := newTestRegistry(t, nil)
	f := newFixture(t, fixtureOptions{Docker: true})
	img, res, _ := pushCompressed(t, reg, f, "gzip")
	if res.Digest != img.ManifestDigest {
		t.Errorf("a gzip image pushed as gzip got manifest %s, stored %s: it must go byte for byte", res.Digest, img.ManifestDigest)
	}
}

func TestPushCompressionRefusesDamagedLayer(t *testing.T) {
	reg := newTestRegistry(t, nil)
	// The config names a diff ID the first layer does not have: a converted
	// push would publish a layer its config contradicts.
	f := newFixture(t, fixtureOptions{})
	src := openStore(t)
	ref := reg.Host + "/team/bad:1"
	img := storeFixture(t, src, f, ref)
	img.Config.RootFS.DiffIDs[0] = digest.FromString("not the layer")
	_, err := convertLayer(bg(), src, img.Manifest.Layers[0], img.Config.RootFS.DiffIDs[0], layer.Zstd)
	var re *Error
	if !errors.As(err, &re) || re.Kind != ErrInvalid || !strings.Contains(err.Error(), "diff ID") {
		t.Fatalf("convert with a wrong diff ID: %v", err)
	}
	if left, _ := os.ReadDir(src.TmpDir()); len(left) != 0 {
		t.Errorf("a refused conversion left %d temporary files", len(left))
	}

	// A push with an unknown compression is refused before anything is sent.
	_, err = newTestClient(Config{}).Push(bg(), src, ref, PushOptions{Compression: "lz4"})
	if err == nil || !strings.Contains(err.Error(), "unknown compression") {
		t.Fatalf("push --compression lz4: %v", err)
	}
	if n := countPrefix(reg.Hits(), "PUT "); n != 0 {
		t.Errorf("a refused push sent %d PUTs", n)
	}
}

// ggcrCheckLayers reads every layer of a remote image with
// go-containerregistry and checks its digest and its diff ID.
func ggcrCheckLayers(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d diff IDs", len(layers), len(cfg.RootFS.DiffIDs))
	}
	for i, l := range layers {
		want, _ := l.Digest()
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		got := digest.Canonical.Digester()
		_, err = io.Copy(got.Hash(), rc)
		rc.Close()
		if err != nil || got.Digest().String() != want.String() {
			t.Errorf("layer %d: blob hashes to %s, manifest says %s (%v)", i, got.Digest(), want, err)
		}
		rc, err = l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		diff := digest.Canonical.Digester()
		_, err = io.Copy(diff.Hash(), rc)
		rc.Close()
		if err != nil || diff.Digest().String() != cfg.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d uncompresses to %s, config says %s (%v)", i, diff.Digest(), cfg.RootFS.DiffIDs[i], err)
		}
	}
}

func TestPushCompressionInterrupted(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	src := openStore(t)
	img := storeFixture(t, src, f, "team/app:1")
	ctx, cancel := context.WithCancel(bg())
	cancel()
	_, err := convertLayer(ctx, src, img.Manifest.Layers[0], img.Config.RootFS.DiffIDs[0], layer.Zstd)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("recompression with a cancelled context: %v", err)
	}
	if left, _ := os.ReadDir(src.TmpDir()); len(left) != 0 {
		t.Errorf("an interrupted recompression left %d temporary files", len(left))
	}
}
