package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/berthkit/berth/engine/layer"
	"github.com/opencontainers/go-digest"
)

// layerWalk is what one stored layer says once read through: the paths
// its whiteouts delete, the directories it makes opaque, and how many
// bytes the uncompressed tar holds.
type layerWalk struct {
	deletes, opaque []string
	size            int64
}

// walkLayer reads the layer blob and calls entry for every path it writes
// (cleaned, absolute, in tar order), keeping whiteouts and opaque markers
// aside for the caller to apply after the layer's own entries, as
// `history --files` and `image explore` both must.
func (e *Engine) walkLayer(ctx context.Context, blob digest.Digest, entry func(p string, hdr *tar.Header)) (*layerWalk, error) {
	f, err := e.Store.OpenBlob(blob)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := layer.Decompress(f)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	counted := &countingReader{r: r}
	tr := tar.NewReader(counted)
	w := &layerWalk{}
	for {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read layer: %w", err)
		}
		p := "/" + strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if p == "/" {
			continue
		}
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		switch {
		case base == layer.WhiteoutOpaqueDir:
			w.opaque = append(w.opaque, dir)
		case strings.HasPrefix(base, layer.WhiteoutMetaPrefix):
		case strings.HasPrefix(base, layer.WhiteoutPrefix):
			w.deletes = append(w.deletes, path.Join(dir, strings.TrimPrefix(base, layer.WhiteoutPrefix)))
		default:
			entry(p, hdr)
		}
	}
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	w.size = counted.n
	return w, nil
}
