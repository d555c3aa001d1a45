package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/store/storetest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imgEntry is one entry of a hand-made archive.
type imgEntry struct {
	name     string
	data     []byte
	typeflag byte // default regular file
	linkname string
}

func imgArchive(t *testing.T, entries ...imgEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		hdr := &tar.Header{Name: en.name, Mode: 0o644, Size: int64(len(en.data)), Typeflag: en.typeflag, Linkname: en.linkname, ModTime: time.Unix(1, 0)}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write(en.data)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imgSave(t *testing.T, e *engine.Engine, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Save(context.Background(), &buf, names); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imgLoad(t *testing.T, e *engine.Engine, archive []byte) []engine.LoadedImage {
	t.Helper()
	loaded, err := e.Load(context.Background(), bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}

// imgArchiveFiles reads an archive into name → content.
func imgArchiveFiles(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out[hdr.Name] = data
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	src := imgEngine(t)
	base := imgPut(t, src, nil, "base", imgLayerTar(t, imgFile{"etc/", ""}, imgFile{"etc/motd", "hello"}))
	app := imgPut(t, src, base, "step", imgLayerTar(t, imgFile{"app", "run"}))
	imgTag(t, src, app, "rommelrico/redis:latest", "rommelrico/redis:1")
	imgTag(t, src, base, "busybox")

	archive := imgSave(t, src, "rommelrico/redis", base.ShortID())
	if again := imgSave(t, src, "rommelrico/redis", base.ShortID()); !bytes.Equal(archive, again) {
		t.Error("two saves of the same images differ")
	}
	files := imgArchiveFiles(t, archive)
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 2 || manifest[0].Config != "blobs/sha256/"+app.ID.Encoded() ||
		strings.Join(manifest[0].RepoTags, " ") != "rommelrico/redis:1 rommelrico/redis:latest" || len(manifest[0].Layers) != 2 ||
		len(manifest[1].RepoTags) != 0 {
		t.Errorf("manifest.json = %s", files["manifest.json"])
	}
	var index ocispec.Index
	json.Unmarshal(files["index.json"], &index)
	if len(index.Manifests) != 3 || index.Manifests[0].Annotations[engine.AnnotationContainerdName] != "docker.io/rommelrico/redis:1" ||
		index.Manifests[0].Annotations[ocispec.AnnotationRefName] != "docker.io/rommelrico/redis:1" || index.Manifests[2].Annotations != nil {
		t.Errorf("index.json = %s", files["index.json"])
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", files["oci-layout"])
	}
	if !strings.Contains(string(files["repositories"]), `"rommelrico/redis":{"1":"`+app.ID.Encoded()+`"`) {
		t.Errorf("repositories = %s", files["repositories"])
	}

	dst := imgEngine(t)
	var events []string
	loaded := imgLoad(t, dst, archive)
	for _, l := range loaded {
		events = append(events, l.Ref+"="+l.ID.Encoded()[:12])
	}
	want := "rommelrico/redis:1=" + app.ShortID() + " rommelrico/redis:latest=" + app.ShortID() + " =" + base.ShortID()
	if strings.Join(events, " ") != want {
		t.Errorf("loaded %v, want %s", events, want)
	}
	got, err := dst.Store.Image("rommelrico/redis:1")
	if err != nil || got.ID != app.ID || got.ManifestDigest != app.ManifestDigest || got.Size != app.Size {
		t.Errorf("loaded image %+v, %v", got, err)
	}
	// Loading the same archive again changes nothing.
	before := imgSnapshot(t, dst)
	imgLoad(t, dst, archive)
	if after := imgSnapshot(t, dst); !after.equal(before) {
		t.Errorf("second load changed the store:\n%s\n%s", before.index, after.index)
	}
}

func TestLoadReplacesATag(t *testing.T) {
	src := imgEngine(t)
	newer := imgPut(t, src, nil, "new", imgLayerTar(t, imgFile{"v", "2"}))
	imgTag(t, src, newer, "busybox")
	archive := imgSave(t, src, "busybox")

	dst := imgEngine(t)
	older := imgPut(t, dst, nil, "old", imgLayerTar(t, imgFile{"v", "1"}))
	imgTag(t, dst, older, "busybox")
	loaded := imgLoad(t, dst, archive)
	if len(loaded) != 1 || loaded[0].Replaced != older.ID || loaded[0].Ref != "busybox:latest" {
		t.Fatalf("loaded %+v", loaded)
	}
	if refs := strings.Join(imgRefs(t, dst), " "); refs != "<none>="+older.ShortID()+" busybox:latest="+newer.ShortID() {
		t.Errorf("after load: %s", refs)
	}
}

// TestLoadDockerArchive loads the classic docker save format: uncompressed
// layers in <id>/layer.tar, a shared layer as a symlink, <hex>.json configs.
func TestLoadDockerArchive(t *testing.T) {
	l1 := imgLayerTar(t, imgFile{"etc/", ""}, imgFile{"etc/os-release", "ID=test"})
	l2 := imgLayerTar(t, imgFile{"app", "x"})
	mkConfig := func(layers ...[]byte) ([]byte, digest.Digest) {
		var diffIDs []digest.Digest
		var history []ocispec.History
		for range layers {
			history = append(history, ocispec.History{CreatedBy: "step"})
		}
		for _, l := range layers {
			diffIDs = append(diffIDs, digest.FromBytes(l))
		}
		created := time.Unix(1700000000, 0).UTC()
		data, _ := json.Marshal(map[string]any{
			"architecture": "amd64", "os": "linux", "created": created, "docker_version": "20.10.23",
			"config":  map[string]any{"Cmd": []string{"sh"}, "Hostname": "abc"},
			"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
			"history": history,
		})
		return data, digest.FromBytes(data)
	}
	c1, id1 := mkConfig(l1)
	c2, id2 := mkConfig(l1, l2)
	manifest, _ := json.Marshal([]map[string]any{
		{"Config": id1.Encoded() + ".json", "RepoTags": []string{"base:1"}, "Layers": []string{"aaa/layer.tar"}},
		{"Config": id2.Encoded() + ".json", "RepoTags": []string{"app:1"}, "Layers": []string{"bbb/layer.tar", "ccc/layer.tar"}},
	})
	archive := imgArchive(t,
		imgEntry{name: "aaa/", typeflag: tar.TypeDir},
		imgEntry{name: "aaa/layer.tar", data: l1},
		imgEntry{name: "aaa/VERSION", data: []byte("1.0")},
		imgEntry{name: "bbb/", typeflag: tar.TypeDir},
		imgEntry{name: "bbb/layer.tar", typeflag: tar.TypeSymlink, linkname: "../aaa/layer.tar"},
		imgEntry{name: "ccc/layer.tar", data: l2},
		imgEntry{name: id1.Encoded() + ".json", data: c1},
		imgEntry{name: id2.Encoded() + ".json", data: c2},
		imgEntry{name: "manifest.json", data: manifest},
		imgEntry{name: "repositories", data: []byte(`{"base":{"1":"aaa"}}`)},
	)
	e := imgEngine(t)
	loaded := imgLoad(t, e, archive)
	if len(loaded) != 2 || loaded[0].Ref != "base:1" || loaded[1].Ref != "app:1" || loaded[1].ID != id2 {
		t.Fatalf("loaded %+v", loaded)
	}
	app, err := e.Store.Image("app:1")
	if err != nil {
		t.Fatal(err)
	}
	if app.Manifest.Layers[0].MediaType != ocispec.MediaTypeImageLayer || app.Size != int64(len(l1)+len(l2)) {
		t.Errorf("app layers %+v size %d", app.Manifest.Layers, app.Size)
	}
	got, err := e.InspectImage(context.Background(), "app:1")
	if err != nil || got.DockerVersion != "20.10.23" || got.Config.Hostname != "abc" {
		t.Errorf("inspect of a Docker image: %+v, %v", got, err)
	}
	// The archive berth saves from it is loadable again, image IDs intact.
	dst := imgEngine(t)
	imgLoad(t, dst, imgSave(t, e, "app:1"))
	if img, err := dst.Store.Image("app:1"); err != nil || img.ID != id2 {
		t.Errorf("reloaded: %v, %v", img, err)
	}
}

// TestLoadOCILayout loads an OCI layout whose index names images the way
// Docker 25 and containerd do, with a nested index for two platforms.
func TestLoadOCILayout(t *testing.T) {
	src := imgEngine(t)
	img := imgPut(t, src, nil, "base", imgLayerTar(t, imgFile{"f", "1"}))
	var entries []imgEntry
	for _, d := range append(append([]ocispec.Descriptor{}, img.Manifest.Layers...), img.Manifest.Config,
		ocispec.Descriptor{Digest: img.ManifestDigest}) {
		data, err := os.ReadFile(src.Store.BlobPath(d.Digest))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, imgEntry{name: "blobs/sha256/" + d.Digest.Encoded(), data: data})
	}
	manifestDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.ManifestDigest, Size: img.ManifestSize}
	arm := manifestDesc
	arm.Digest = digest.FromString("not here") // another platform: never read
	amd := manifestDesc
	amd.Platform = &ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	other := "s390x"
	if runtime.GOARCH == other {
		other = "riscv64"
	}
	arm.Platform = &ocispec.Platform{OS: "linux", Architecture: other}
	nested, _ := json.Marshal(ocispec.Index{Versioned: img.Manifest.Versioned, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd, arm}})
	nestedDigest := digest.FromBytes(nested)
	entries = append(entries, imgEntry{name: "blobs/sha256/" + nestedDigest.Encoded(), data: nested})
	index, _ := json.Marshal(ocispec.Index{Versioned: img.Manifest.Versioned, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{{
		MediaType: ocispec.MediaTypeImageIndex, Digest: nestedDigest, Size: int64(len(nested)),
		Annotations: map[string]string{engine.AnnotationContainerdName: "docker.io/library/multi:1", ocispec.AnnotationRefName: "1"},
	}}})
	entries = append(entries, imgEntry{name: "index.json", data: index}, imgEntry{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)})

	e := imgEngine(t)
	loaded := imgLoad(t, e, imgGzip(imgArchive(t, entries...)))
	if len(loaded) != 1 || loaded[0].Ref != "multi:1" || loaded[0].ID != img.ID {
		t.Fatalf("loaded %+v", loaded)
	}
}

func TestLoadRejectsBadArchives(t *testing.T) {
	src := imgEngine(t)
	img := imgPut(t, src, nil, "base", imgLayerTar(t, imgFile{"big", strings.Repeat("0123456789", 2000)}))
	imgTag(t, src, img, "busybox")
	good := imgSave(t, src, "busybox")
	files := imgArchiveFiles(t, good)
	layerName := "blobs/sha256/" + img.Manifest.Layers[0].Digest.Encoded()

	rebuild := func(change func(name string, data []byte) (string, []byte, bool)) []byte {
		var entries []imgEntry
		for _, name := range []string{"blobs/sha256/" + img.Manifest.Layers[0].Digest.Encoded(), "blobs/sha256/" + img.ID.Encoded(),
			"blobs/sha256/" + img.ManifestDigest.Encoded(), "index.json", "manifest.json", "oci-layout", "repositories"} {
			n, d, keep := change(name, files[name])
			if keep {
				entries = append(entries, imgEntry{name: n, data: d})
			}
		}
		return imgArchive(t, entries...)
	}
	flipped := rebuild(func(name string, data []byte) (string, []byte, bool) {
		if name == layerName {
			data = append([]byte{}, data...)
			data[len(data)/2] ^= 0x55
		}
		return name, data, true
	})
	noLayer := rebuild(func(name string, data []byte) (string, []byte, bool) { return name, data, name != layerName })
	dockerOnlyWrongDiff := imgArchive(t,
		imgEntry{name: "layer.tar", data: imgLayerTar(t, imgFile{"other", "content"})},
		imgEntry{name: "blobs/sha256/" + img.ID.Encoded(), data: files["blobs/sha256/"+img.ID.Encoded()]},
		imgEntry{name: "manifest.json", data: []byte(`[{"Config":"blobs/sha256/` + img.ID.Encoded() + `","RepoTags":["x:1"],"Layers":["layer.tar"]}]`)},
	)
	cases := []struct {
		name    string
		archive []byte
		want    string
	}{
		{"truncated", good[:len(good)/2], "truncated or corrupt"},
		{"truncated gzip", imgGzip(good)[:len(imgGzip(good))/2], "truncated or corrupt"},
		{"corrupt layer", flipped, "is corrupt: its content hashes to"},
		{"missing layer", noLayer, "is missing"},
		{"wrong diff ID", dockerOnlyWrongDiff, "the config says"},
		{"not a tar", []byte(strings.Repeat("hello, not a tar at all\n", 100)), "not a tar archive"},
		{"empty", nil, "is empty"},
		{"rootfs, not an image", imgArchive(t, imgEntry{name: "etc/passwd", data: []byte("root:x:0:0::/root:/bin/sh\n")}), "use `berth import`"},
		{"unsafe name", imgArchive(t, imgEntry{name: "../escape", data: []byte("x")}), "unsafe entry"},
		{"bad manifest.json", imgArchive(t, imgEntry{name: "manifest.json", data: []byte("{nope")}), "manifest.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := imgEngine(t)
			keep := imgPut(t, e, nil, "keep", imgLayerTar(t, imgFile{"k", "k"}))
			imgTag(t, e, keep, "keep")
			before := imgSnapshot(t, e)
			_, err := e.Load(context.Background(), bytes.NewReader(c.archive))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, c.want)
			}
			if after := imgSnapshot(t, e); !after.equal(before) {
				t.Errorf("a failed load changed the store:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

func TestConcurrentLoadsAndTags(t *testing.T) {
	src := imgEngine(t)
	var archives [][]byte
	for i := 0; i < 4; i++ {
		img := imgPut(t, src, nil, "img", imgLayerTar(t, imgFile{"n", strings.Repeat("x", i+1)}))
		name := "img" + string(rune('a'+i)) + ":1"
		imgTag(t, src, img, name)
		archives = append(archives, imgSave(t, src, name))
	}
	root := filepath.Join(t.TempDir(), "root")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i, a := range archives {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One engine per goroutine: the store's locks are per open file,
			// so these contend like separate processes.
			e, err := engine.Open(root, engine.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer e.Close()
			if _, err := e.Load(context.Background(), bytes.NewReader(a)); err != nil {
				errs <- err
				return
			}
			for j := 0; j < 3; j++ {
				if _, err := e.TagImage(context.Background(), "img"+string(rune('a'+i))+":1", "extra:"+string(rune('a'+i))+string(rune('0'+j))); err != nil {
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
	images := storetest.ValidateAll(t, root)
	refs := 0
	for _, img := range images {
		refs += len(img.Refs)
	}
	if len(images) != 4 || refs != 16 {
		t.Errorf("%d images with %d names, want 4 with 16", len(images), refs)
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	rootfs := imgLayerTar(t, imgFile{"etc/", ""}, imgFile{"etc/motd", "hello"}, imgFile{"bin/", ""}, imgFile{"bin/tool", "#!/bin/sh\n"})
	img, err := e.Import(ctx, bytes.NewReader(imgGzip(rootfs)), engine.ImportOptions{
		Ref: "imported:1", Changes: []string{`CMD ["/bin/tool"]`, "ENV A=b", "WORKDIR /etc"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(img.Config.Config.Cmd, " ") != "/bin/tool" || strings.Join(img.Config.Config.Env, " ") != "A=b" ||
		img.Config.Config.WorkingDir != "/etc" || len(img.Manifest.Layers) != 1 {
		t.Errorf("config %+v", img.Config.Config)
	}
	if len(img.Config.History) != 1 || img.Config.History[0].Comment != "Imported from -" {
		t.Errorf("history %+v", img.Config.History)
	}
	_, layers, err := e.ImageChanges(ctx, "imported:1")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range layers[0].Changes {
		paths = append(paths, c.String())
	}
	if strings.Join(paths, ",") != "A /bin,A /bin/tool,A /etc,A /etc/motd" {
		t.Errorf("layer holds %v", paths)
	}
	// Same tarball, same layer: the layer is normalised and deterministic.
	again, err := e.Import(ctx, bytes.NewReader(rootfs), engine.ImportOptions{Message: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if again.DiffIDs()[0] != img.DiffIDs()[0] || again.Config.History[0].Comment != "second" {
		t.Errorf("second import: diff ID %s vs %s, history %+v", again.DiffIDs()[0], img.DiffIDs()[0], again.Config.History)
	}

	before := imgSnapshot(t, e)
	for name, c := range map[string]struct {
		data []byte
		opts engine.ImportOptions
		want string
	}{
		"not a tar":   {[]byte(strings.Repeat("text ", 200)), engine.ImportOptions{}, "not a tar archive"},
		"empty":       {nil, engine.ImportOptions{}, "is empty"},
		"truncated":   {imgGzip(rootfs)[:40], engine.ImportOptions{}, "corrupt"},
		"bad change":  {rootfs, engine.ImportOptions{Changes: []string{"RUN rm -rf /"}}, "RUN is not a valid change command"},
		"bad name":    {rootfs, engine.ImportOptions{Ref: "Bad"}, "repository name must be lowercase"},
		"hostile tar": {imgLayerTar(t, imgFile{"../../escape", "x"}), engine.ImportOptions{}, "unsafe"},
	} {
		_, err := e.Import(ctx, bytes.NewReader(c.data), c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Import = %v, want %q", name, err, c.want)
		}
	}
	if after := imgSnapshot(t, e); !after.equal(before) {
		t.Errorf("failed imports changed the store")
	}
}

func TestSaveUnknownImage(t *testing.T) {
	e := imgEngine(t)
	err := e.Save(context.Background(), io.Discard, []string{"nope"})
	if !errors.Is(err, store.ErrNotFound) || err.Error() != "No such image: nope:latest" {
		t.Errorf("save nope: %v", err)
	}
}
