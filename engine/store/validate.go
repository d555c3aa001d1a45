package store

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berthkit/berth/engine/layer"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's media types, which OCI tools and Berth accept beside OCI's own.
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// ValidationError lists everything wrong with one image (or with the
// layout as a whole). It is what Validate and ValidateLayout return.
type ValidationError struct {
	// Subject names what was checked: "busybox:latest (3f57d9401f8d)" or "index.json".
	Subject  string
	Problems []string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: %s", e.Subject, strings.Join(e.Problems, "; "))
}

// Validate checks an image the way a registry or a careful client would:
// every blob it names is present and hashes to its digest and size; every
// layer decompresses to a well-formed tar whose digest is the config's diff
// ID at that position; the manifest and config pass the OCI JSON schemas;
// the config's history has one non-empty entry per layer; and Berth's size
// annotations add up. It returns nil or a *ValidationError listing every
// problem found, so one run tells the whole story.
func Validate(s *Store, img *Image) error {
	v := &validator{s: s}
	v.image(img)
	if len(v.problems) == 0 {
		return nil
	}
	subject := img.ShortID()
	if len(img.Refs) > 0 {
		subject = Familiar(img.Refs[0]) + " (" + img.ShortID() + ")"
	}
	return &ValidationError{Subject: subject, Problems: v.problems}
}

// ValidateLayout checks the OCI image layout around the images: oci-layout
// and index.json against their schemas, every index entry's descriptor
// against its manifest blob, and every ref name as a Docker reference.
func ValidateLayout(s *Store) error {
	v := &validator{s: s}
	v.layout()
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Subject: s.Root(), Problems: v.problems}
}

type validator struct {
	s        *Store
	problems []string
}

func (v *validator) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) schema(what string, check func([]byte) error, data []byte) {
	if err := check(data); err != nil {
		// The checker's error already says "<what> does not match the OCI
		// schema: ..."; saying it again doubled the words.
		msg := oneLine(err)
		if !strings.Contains(msg, "does not match the OCI schema") {
			msg = what + " does not match the OCI schema: " + msg
		}
		v.addf("%s", msg)
	}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (v *validator) layout() {
	layoutData, err := os.ReadFile(filepath.Join(v.s.Root(), ocispec.ImageLayoutFile))
	if err != nil {
		v.addf("oci-layout: %v", err)
	} else {
		v.schema("oci-layout", CheckLayoutSchema, layoutData)
	}
	indexData, err := os.ReadFile(v.s.indexPath())
	if err != nil {
		v.addf("index.json: %v", err)
		return
	}
	v.schema("index.json", CheckIndexSchema, indexData)
	var idx ocispec.Index
	if err := json.Unmarshal(indexData, &idx); err != nil {
		v.addf("index.json is not JSON: %v", err)
		return
	}
	seenRef := map[string]bool{}
	for i, d := range idx.Manifests {
		where := fmt.Sprintf("index.json entry %d (%s)", i+1, d.Digest)
		if d.MediaType != ocispec.MediaTypeImageManifest && d.MediaType != MediaTypeDockerManifest {
			v.addf("%s: media type %q is not an image manifest", where, d.MediaType)
		}
		v.blob(where, d)
		if ref := d.Annotations[ocispec.AnnotationRefName]; ref != "" {
			if seenRef[ref] {
				v.addf("%s: ref %q is listed twice", where, ref)
			}
			seenRef[ref] = true
			parsed, err := ParseRef(ref)
			if err != nil {
				v.addf("%s: ref %q: %v", where, ref, err)
			} else if parsed.String() != ref {
				v.addf("%s: ref %q is not in its full form %q", where, ref, parsed.String())
			}
		}
	}
	v.indexes()
}

// blob checks that a descriptor's blob is present with its size and digest,
// and returns its content when it is small enough to be JSON.
func (v *validator) blob(what string, d ocispec.Descriptor) []byte {
	if err := d.Digest.Validate(); err != nil {
		v.addf("%s: digest %q: %v", what, d.Digest, err)
		return nil
	}
	f, err := v.s.OpenBlob(d.Digest)
	if err != nil {
		v.addf("%s: blob %s is missing", what, d.Digest)
		return nil
	}
	defer f.Close()
	var keep bytes.Buffer
	digester := d.Digest.Algorithm().Digester()
	w := io.Writer(digester.Hash())
	if d.Size <= 4<<20 {
		w = io.MultiWriter(w, &keep)
	}
	n, err := io.Copy(w, f)
	if err != nil {
		v.addf("%s: read blob %s: %v", what, d.Digest, err)
		return nil
	}
	ok := true
	if got := digester.Digest(); got != d.Digest {
		v.addf("%s: blob content hashes to %s, not %s", what, got, d.Digest)
		ok = false
	}
	if n != d.Size {
		v.addf("%s: blob %s is %d bytes, its descriptor says %d", what, d.Digest.Encoded()[:12], n, d.Size)
		ok = false
	}
	if !ok {
		return nil
	}
	return keep.Bytes()
}

func (v *validator) image(img *Image) {
	// The index entry's descriptor must match the manifest blob.
	idx, err := v.s.readIndex()
	if err != nil {
		v.addf("%v", err)
		return
	}
	var entry *ocispec.Descriptor
	for i, d := range idx.Manifests {
		if d.Digest == img.ManifestDigest {
			entry = &idx.Manifests[i]
			break
		}
	}
	if entry == nil {
		v.addf("manifest %s is not listed in index.json", img.ManifestDigest)
		entry = &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.ManifestDigest, Size: img.ManifestSize}
	}
	manifestData := v.blob("manifest", *entry)
	if manifestData == nil {
		return
	}
	v.schema("manifest", CheckManifestSchema, manifestData)
	var m ocispec.Manifest
	if err := json.Unmarshal(manifestData, &m); err != nil {
		v.addf("manifest is not JSON: %v", err)
		return
	}
	if m.MediaType != "" && m.MediaType != entry.MediaType {
		v.addf("manifest says its media type is %q, index.json says %q", m.MediaType, entry.MediaType)
	}
	if m.Config.MediaType != ocispec.MediaTypeImageConfig && m.Config.MediaType != MediaTypeDockerConfig {
		v.addf("config media type %q is not an image config", m.Config.MediaType)
	}
	if m.Config.Digest != img.ID {
		v.addf("image ID %s is not the config digest %s", img.ID, m.Config.Digest)
	}
	// Tag, untag and rmi take the entry's ID annotation at its word (it
	// saves reading every manifest): one that lies misdirects them.
	if id := entry.Annotations[AnnotationID]; id != "" && id != m.Config.Digest.String() {
		v.addf("index.json records image ID %s for manifest %s, whose config is %s: fix the %s annotation or remove the entry", id, entry.Digest, m.Config.Digest, AnnotationID)
	}
	configData := v.blob("config", m.Config)
	if configData == nil {
		return
	}
	v.schema("config", CheckConfigSchema, configData)
	var cfg ocispec.Image
	if err := json.Unmarshal(configData, &cfg); err != nil {
		v.addf("config is not JSON: %v", err)
		return
	}
	v.configFacts(cfg, len(m.Layers))
	v.layers(entry, m.Layers, cfg.RootFS.DiffIDs)
}

// configFacts checks what a config says about the image's layers.
func (v *validator) configFacts(cfg ocispec.Image, layers int) {
	if cfg.OS == "" || cfg.Architecture == "" {
		v.addf("config lacks os or architecture (os %q, architecture %q)", cfg.OS, cfg.Architecture)
	}
	if cfg.RootFS.Type != "layers" {
		v.addf(`config rootfs.type is %q, not "layers"`, cfg.RootFS.Type)
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != layers {
		v.addf("manifest lists %d layers but config has %d diff IDs", layers, len(diffIDs))
	}
	if len(cfg.History) > 0 {
		nonEmpty := 0
		for _, h := range cfg.History {
			if !h.EmptyLayer {
				nonEmpty++
			}
		}
		if nonEmpty != len(diffIDs) {
			v.addf("config history has %d non-empty entries for %d layers", nonEmpty, len(diffIDs))
		}
	}
}

// layers checks every layer of an image and the sizes its index entry
// records for them.
func (v *validator) layers(entry *ocispec.Descriptor, layers []ocispec.Descriptor, diffIDs []digest.Digest) {
	var total int64
	sizes := make([]int64, len(layers))
	for i, l := range layers {
		what := fmt.Sprintf("layer %d/%d (%s)", i+1, len(layers), l.Digest)
		var want digest.Digest
		if i < len(diffIDs) {
			want = diffIDs[i]
		}
		sizes[i] = v.layer(what, l, want)
		total += sizes[i]
	}
	if recorded, ok := ParseLayerSizes(entry.Annotations[AnnotationLayerSizes]); ok {
		if len(recorded) != len(sizes) {
			v.addf("index.json records %d layer sizes for %d layers", len(recorded), len(sizes))
		} else {
			for i := range sizes {
				if sizes[i] >= 0 && recorded[i] != sizes[i] {
					v.addf("layer %d is %d bytes uncompressed, index.json records %d", i+1, sizes[i], recorded[i])
				}
			}
		}
	}
	if rec, ok := entry.Annotations[AnnotationSize]; ok && len(layers) > 0 {
		if rec != fmt.Sprint(total) && !v.hasLayerProblem() {
			v.addf("image size annotation is %s, the layers add up to %d", rec, total)
		}
	}
}

func (v *validator) hasLayerProblem() bool {
	for _, p := range v.problems {
		if strings.HasPrefix(p, "layer ") {
			return true
		}
	}
	return false
}

// layer checks one layer blob: digest and size of the compressed bytes,
// then the diff ID and tar structure of the uncompressed stream. It returns
// the uncompressed size, or -1 when it could not be read.
func (v *validator) layer(what string, d ocispec.Descriptor, diffID digest.Digest) int64 {
	if err := d.Digest.Validate(); err != nil {
		v.addf("%s: digest %q: %v", what, d.Digest, err)
		return -1
	}
	f, err := v.s.OpenBlob(d.Digest)
	if err != nil {
		v.addf("%s: blob is missing", what)
		return -1
	}
	defer f.Close()
	blobDigester := digest.Canonical.Digester()
	counted := &countingReader{r: io.TeeReader(f, blobDigester.Hash())}
	plain, closeFn, err := decompressFor(d.MediaType, counted)
	if err != nil {
		v.addf("%s: %v", what, err)
		return -1
	}
	defer closeFn()
	diffDigester := digest.Canonical.Digester()
	tarCount := &countingReader{r: io.TeeReader(plain, diffDigester.Hash())}
	tr := tar.NewReader(tarCount)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			v.addf("%s: not a well-formed tar after decompression: %v", what, err)
			return -1
		}
	}
	// The diff ID covers the whole stream, padding after the end marker included.
	if _, err := io.Copy(io.Discard, tarCount); err != nil {
		v.addf("%s: decompress: %v", what, err)
		return -1
	}
	// Let the compressed stream finish so its digest covers every byte.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		v.addf("%s: read blob: %v", what, err)
		return -1
	}
	if got := blobDigester.Digest(); got != d.Digest {
		v.addf("%s: blob content hashes to %s", what, got)
	}
	if counted.n != d.Size {
		v.addf("%s: blob is %d bytes, the manifest says %d", what, counted.n, d.Size)
	}
	if diffID != "" {
		if got := diffDigester.Digest(); got != diffID {
			v.addf("%s: uncompressed content hashes to %s, the config's diff ID is %s", what, got, diffID)
		}
	}
	return tarCount.n
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// decompressFor returns the uncompressed stream of a layer with the given
// media type. The compression is also sniffed, so a layer whose media type
// lies about it is reported rather than misread.
func decompressFor(mediaType string, r io.Reader) (io.Reader, func(), error) {
	want, ok := LayerCompression(mediaType)
	if !ok {
		return nil, nil, fmt.Errorf("media type %q is not a layer type Berth knows", mediaType)
	}
	buf := ingestReadBuffers.get()
	br := checkReaders.Get().(*bufio.Reader)
	br.Reset(&chunkReader{r: r, buf: buf.b})
	release := func() {
		br.Reset(nil)
		checkReaders.Put(br)
		ingestReadBuffers.put(buf)
	}
	magic, _ := br.Peek(4)
	got := "tar"
	if c := layer.DetectCompression(magic); c != layer.None {
		got = c.String()
	}
	if got != want {
		release()
		return nil, nil, fmt.Errorf("media type %s says %s but the blob is %s", mediaType, want, got)
	}
	// A check reads the stream once, on the goroutine that also parses the
	// tar and hashes it, while a pull checks several layers at once: no
	// read-ahead. layer's decoders bound what a hostile stream can make
	// them allocate (zstd's window), as unpacking does.
	zr, err := layer.DecompressInline(br)
	if err != nil {
		release()
		return nil, nil, err
	}
	return zr, func() { zr.Close(); release() }, nil
}

// checkReaders keeps the bufio.Readers of layer checks (the inflater's
// fast path needs one), which serve the check from a readSize buffer of
// ingestReadBuffers (a chunkReader): their own buffer is small, so a check
// reads its source in 1 MiB pieces without 1 MiB of fresh heap each time.
// The caller's close returns both, after which the decompressor must not
// be read again.
var checkReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, checkBufSize) }}

// checkBufSize is the bufio.Reader's own buffer: the size layer's
// decompressors ask for, so that they read through it rather than wrap it
// in another.
const checkBufSize = 64 << 10
