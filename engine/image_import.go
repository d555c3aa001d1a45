package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/imagearchive"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImportOptions are `import`'s flags.
type ImportOptions struct {
	// Ref names the new image (optional).
	Ref string
	// Changes are Dockerfile instructions applied to the config (-c).
	Changes []string
	// Message is the history comment (-m); the default is "Imported from SOURCE".
	Message string
	// Source names where the tarball came from ("-" for stdin).
	Source string
}

// Import makes a one-layer image from a root file system tarball (plain,
// gzip, zstd or bzip2), as `docker import`: the tarball is unpacked safely
// into a scratch directory under tmp/ and written back as a normalised,
// deterministic layer, so hostile entries never reach an image.
func (e *Engine) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*store.Image, error) {
	var tagged reference.NamedTagged
	if opts.Ref != "" {
		var err error
		if tagged, err = store.ParseTag(opts.Ref); err != nil {
			return nil, err
		}
	}
	created := time.Now().UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
	}
	var ext store.ExtConfig
	if err := build.ApplyChanges(&cfg, &ext, opts.Changes); err != nil {
		return nil, err
	}
	msg := opts.Message
	if msg == "" {
		source := opts.Source
		if source == "" {
			source = "-"
		}
		msg = "Imported from " + source
	}
	desc, res, err := e.layerFromRootfs(ctx, r, "the tarball")
	if err != nil {
		return nil, err
	}
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{res.DiffID}}
	cfg.History = []ocispec.History{{Created: &created, Comment: msg}}
	img, err := e.Store.PutImage(cfg, []ocispec.Descriptor{desc}, store.ImageOptions{LayerSizes: []int64{res.UncompressedSize}, Ext: ext})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	e.Emit(trace.Event{Type: trace.Image, Image: &trace.ImageInfo{ID: img.ID.String(), Cmd: cfg.Config.Cmd, Layers: 1}})
	if tagged != nil {
		if _, err := e.Store.Tag(img.ID, tagged.String()); err != nil {
			return img, err
		}
		e.emitTag(img.ID, tagged.String())
		img.Refs = []string{tagged.String()}
	}
	return img, nil
}

// layerFromRootfs unpacks a root file system tarball into a scratch dir
// (whiteouts applied by deletion) and stores it back as a gzip'd layer.
func (e *Engine) layerFromRootfs(ctx context.Context, r io.Reader, what string) (ocispec.Descriptor, *layer.DiffResult, error) {
	plain, closeFn, err := imagearchive.OpenCompressed(r, what)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	defer closeFn()
	tmp, err := e.Store.TempDir("import-")
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	defer os.RemoveAll(tmp)
	// Say "not a tar" for what is not one, rather than Apply's parse error.
	br := bufio.NewReaderSize(plain, 64<<10)
	// A whole first block is judged by its header; a clean stream shorter
	// than one block is no tar either. A stream that breaks (truncated
	// compression) is left to Apply, which says it is truncated or corrupt.
	head, peekErr := br.Peek(512)
	notTar := len(head) == 512 && !looksLikeTarHeader(head) ||
		len(head) > 0 && len(head) < 512 && errors.Is(peekErr, io.EOF)
	if notTar {
		return ocispec.Descriptor{}, nil, fmt.Errorf("%s is not a tar archive: give a tar (optionally gzip or zstd compressed) of a root file system", what)
	}
	rootfs := filepath.Join(tmp, "rootfs")
	applied, err := layer.Apply(ctx, rootfs, br, layer.ApplyOptions{Whiteouts: layer.WhiteoutDelete, RemoveOnError: true})
	if err != nil {
		return ocispec.Descriptor{}, nil, imagearchive.Error(what, unwrapApply(err))
	}
	if applied.Entries == 0 {
		return ocispec.Descriptor{}, nil, fmt.Errorf("%s holds no files: give a tar of a root file system", what)
	}
	pr, pw := io.Pipe()
	var res *layer.DiffResult
	done := make(chan error, 1)
	go func() {
		var err error
		res, err = layer.Diff(ctx, rootfs, pw, layer.DiffOptions{Compression: layer.Gzip})
		pw.CloseWithError(err)
		done <- err
	}()
	d, size, err := e.Store.PutBlob(pr, "", -1)
	pr.CloseWithError(errors.New("ingest stopped"))
	if diffErr := <-done; diffErr != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("write layer: %w", diffErr)
	}
	if err != nil {
		return ocispec.Descriptor{}, nil, imagearchive.Error("write layer", err)
	}
	if d != res.Digest {
		return ocispec.Descriptor{}, nil, fmt.Errorf("write layer: stored %s but wrote %s", d, res.Digest)
	}
	e.Emit(trace.Event{Type: trace.Layer, Layer: &trace.LayerInfo{
		DiffID: res.DiffID.String(), Digest: d.String(), Size: size, UncompressedSize: res.UncompressedSize, MediaType: res.MediaType,
	}})
	return ocispec.Descriptor{MediaType: res.MediaType, Digest: d, Size: size}, res, nil
}

// looksLikeTarHeader checks the first 512-byte block the way tar does: a
// valid header checksum (and, for ustar, its magic), or the zero block of an
// empty archive. Only the block itself is read, so a first entry whose PAX
// records fill the next blocks (xattrs, long names) is still recognised.
func looksLikeTarHeader(block []byte) bool {
	if len(block) < 512 {
		return false
	}
	zero := true
	for _, b := range block {
		if b != 0 {
			zero = false
			break
		}
	}
	if zero {
		return true // an empty archive; Apply then finds no files
	}
	field := strings.TrimRight(strings.TrimSpace(string(block[148:156])), "\x00 ")
	want, err := strconv.ParseInt(field, 8, 64)
	if err != nil {
		return false
	}
	var sum int64
	for i, b := range block {
		if i >= 148 && i < 156 {
			b = ' '
		}
		sum += int64(b)
	}
	return sum == want
}

// unwrapApply drops Apply's "apply layer to /long/tmp/path:" prefix, which
// names a scratch dir the user never sees, keeping the cause.
func unwrapApply(err error) error {
	if inner := errors.Unwrap(err); inner != nil && strings.HasPrefix(err.Error(), "apply layer to ") {
		return inner
	}
	return err
}
