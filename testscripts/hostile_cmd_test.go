package testscripts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/rogpeppe/go-internal/testscript"
)

// hostileCmd serves and writes crafted images, for the CLI's wording on
// untrusted input:
//
//	hostile registry
//	    starts an in-process registry on loopback that serves one crafted
//	    image per repository (see hostileKinds) as tag "latest", and sets
//	    $HOSTILE to its host:port;
//	hostile archive KIND FILE
//	    writes an OCI layout archive of the crafted image KIND to FILE.
func hostileCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("hostile does not support negation")
	}
	switch {
	case len(args) == 1 && args[0] == "registry":
		startHostileRegistry(ts)
	case len(args) == 3 && args[0] == "archive":
		img, ok := hostileImage(args[1])
		if !ok {
			ts.Fatalf("hostile: unknown kind %q", args[1])
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), img.archive(ts), 0o644))
	default:
		ts.Fatalf("usage: hostile registry | hostile archive KIND FILE")
	}
}

// craftedImage is one image as a hostile source serves it.
type craftedImage struct {
	manifest []byte
	blobs    map[digest.Digest][]byte
}

// hostileKinds are the crafted images, by repository name.
var hostileKinds = []string{"sound", "diffid", "truncated", "climb", "bigconfig", "bigmanifest", "badtype"}

// hostileImage builds the image of one kind: a sound one-layer image with
// one thing wrong.
func hostileImage(kind string) (*craftedImage, bool) {
	files := map[string]string{"etc/hostname": "berth\n"}
	if kind == "climb" {
		files = map[string]string{"../../escape": "pwned\n"}
	}
	plain := tarOf(files)
	layer := gzipOf(plain)
	diffID := digest.FromBytes(plain)
	switch kind {
	case "diffid":
		diffID = digest.FromString("not the layer")
	case "truncated":
		layer = layer[:len(layer)/2]
	case "sound", "climb", "bigconfig", "bigmanifest", "badtype":
	default:
		return nil, false
	}
	created := time.Unix(1, 0).UTC()
	cfg, _ := json.Marshal(ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
	})
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))},
		Layers:    []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(layer), Size: int64(len(layer))}},
	}
	switch kind {
	case "bigconfig":
		m.Config.Size = 8<<20 + 1
	case "bigmanifest":
		m.Annotations = map[string]string{"pad": strings.Repeat("a", 4<<20)}
	case "badtype":
		m.Layers[0].MediaType = "application/x-evil"
	}
	manifest, _ := json.Marshal(m)
	return &craftedImage{manifest: manifest, blobs: map[digest.Digest][]byte{
		digest.FromBytes(cfg): cfg, digest.FromBytes(layer): layer,
	}}, true
}

func tarOf(files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1, 0)})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	return buf.Bytes()
}

func gzipOf(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return buf.Bytes()
}

// archive writes the image as an OCI layout tar named hostile:KIND... by
// its ref.name annotation.
func (img *craftedImage) archive(ts *testscript.TestScript) []byte {
	entry := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(img.manifest), Size: int64(len(img.manifest)),
		Annotations: map[string]string{ocispec.AnnotationRefName: "docker.io/library/hostile:1"}}
	idx, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{entry}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		ts.Check(tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(1, 0)}))
		_, err := tw.Write(data)
		ts.Check(err)
	}
	add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	add("index.json", idx)
	add("blobs/sha256/"+entry.Digest.Encoded(), img.manifest)
	for d, b := range img.blobs {
		add("blobs/sha256/"+d.Encoded(), b)
	}
	ts.Check(tw.Close())
	return buf.Bytes()
}

// startHostileRegistry serves every kind under /v2/<kind>/.
func startHostileRegistry(ts *testscript.TestScript) {
	images := map[string]*craftedImage{}
	for _, kind := range hostileKinds {
		images[kind], _ = hostileImage(kind)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
		if len(parts) != 3 || images[parts[0]] == nil {
			http.NotFound(w, r)
			return
		}
		img := images[parts[0]]
		switch parts[1] {
		case "manifests":
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			_, _ = w.Write(img.manifest)
		case "blobs":
			if b, ok := img.blobs[digest.Digest(parts[2])]; ok {
				_, _ = w.Write(b)
				return
			}
			http.NotFound(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv("HOSTILE", strings.TrimPrefix(srv.URL, "http://"))
}
