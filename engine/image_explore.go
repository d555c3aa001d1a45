package engine

import (
	"archive/tar"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	digest "github.com/opencontainers/go-digest"
)

// ExploredImage is an image taken apart layer by layer, as dive shows it:
// each layer's files with what they do to the layers below, and the space
// each layer wastes.
type ExploredImage struct {
	Image  *store.Image
	Layers []ExploredLayer
	// Size is the sum of the layers' uncompressed sizes; Wasted the sum of
	// every layer's Wasted.
	Size, Wasted int64
}

// ExploredLayer is one layer of an ExploredImage.
type ExploredLayer struct {
	Index     int // 0 for the base layer
	DiffID    digest.Digest
	Digest    digest.Digest
	Size      int64 // uncompressed: the layer's tar
	CreatedBy string
	// Files are the layer's entries in path order, with the deletions its
	// whiteouts make.
	Files []ExploredFile
	// Wasted is the content of this layer's files that a later layer
	// overwrites or removes: bytes the image carries but nobody sees.
	Wasted int64
}

// ExploredFile is one path of a layer.
type ExploredFile struct {
	Path string
	// Kind is A (added), C (changed: the path existed below) or D (deleted).
	Kind layer.ChangeKind
	Dir  bool
	Size int64 // content bytes of a regular file
	// Link is a symlink's target, or with HardLink the path (absolute) a
	// hard link shares its content with.
	Link     string
	HardLink bool
	// Hidden says a later layer overwrites or removes this file.
	Hidden bool
}

// visible is the version of a path the layers so far leave on top.
type visible struct {
	layer, file int // indexes into the result
	size        int64
	dir         bool
}

// ExploreImage reads every layer of an image, base first, and says per layer
// what it adds, changes and deletes, and which of its files a later layer
// overwrites or removes (wasted space).
func (e *Engine) ExploreImage(ctx context.Context, name string) (*ExploredImage, error) {
	img, err := e.Store.Image(name)
	if err != nil {
		return nil, err
	}
	var createdBy []string
	for _, h := range img.Config.History {
		if !h.EmptyLayer {
			createdBy = append(createdBy, h.CreatedBy)
		}
	}
	out := &ExploredImage{Image: img}
	top := map[string]visible{}
	for i, desc := range img.Manifest.Layers {
		el := ExploredLayer{Index: i, Digest: desc.Digest}
		if i < len(img.DiffIDs()) {
			el.DiffID = img.DiffIDs()[i]
		}
		if i < len(createdBy) {
			el.CreatedBy = createdBy[i]
		}
		out.Layers = append(out.Layers, el)
		if err := e.exploreLayer(ctx, out, i, top); err != nil {
			return nil, fmt.Errorf("image %s layer %d: %w", img.ShortID(), i+1, err)
		}
		out.Size += out.Layers[i].Size
	}
	// Sorted only now: top holds indexes into each layer's Files.
	for i := range out.Layers {
		files := out.Layers[i].Files
		sort.SliceStable(files, func(a, b int) bool { return files[a].Path < files[b].Path })
		out.Wasted += out.Layers[i].Wasted
	}
	return out, nil
}

// exploreLayer reads layer i of out.Image, classifies its entries against
// top (what the layers below left visible), charges what it hides to the
// layers that wrote it, and updates top.
func (e *Engine) exploreLayer(ctx context.Context, out *ExploredImage, i int, top map[string]visible) error {
	el := &out.Layers[i]
	written := map[string]visible{}
	walk, err := e.walkLayer(ctx, el.Digest, func(p string, hdr *tar.Header) {
		file := ExploredFile{Path: p, Kind: layer.ChangeAdd, Dir: hdr.Typeflag == tar.TypeDir}
		switch hdr.Typeflag {
		case tar.TypeReg:
			file.Size = hdr.Size
		case tar.TypeSymlink:
			file.Link = hdr.Linkname
		case tar.TypeLink:
			file.Link, file.HardLink = "/"+strings.TrimPrefix(path.Clean("/"+hdr.Linkname), "/"), true
		}
		if old, ok := top[p]; ok {
			file.Kind = layer.ChangeModify
			// A directory written again keeps what is in it: only a file
			// (or a directory replaced by a file) is hidden.
			if !(old.dir && file.Dir) {
				hide(out, top, p)
			}
		}
		written[p] = visible{layer: i, file: len(el.Files), size: file.Size, dir: file.Dir}
		el.Files = append(el.Files, file)
	})
	if err != nil {
		return err
	}
	el.Size = walk.size
	for _, d := range walk.deletes {
		_, below := top[d]
		if _, rewritten := written[d]; below && !rewritten {
			el.Files = append(el.Files, ExploredFile{Path: d, Kind: layer.ChangeDelete})
		}
		hideTree(out, top, d, written)
	}
	for _, d := range walk.opaque {
		var gone []string
		for p := range top {
			if path.Dir(p) == d {
				if _, ok := written[p]; !ok {
					gone = append(gone, p)
				}
			}
		}
		sort.Strings(gone)
		for _, p := range gone {
			el.Files = append(el.Files, ExploredFile{Path: p, Kind: layer.ChangeDelete})
			hideTree(out, top, p, written)
		}
	}
	for p, v := range written {
		top[p] = v
	}
	return nil
}

// hide marks the visible version of p as overwritten or removed and charges
// its size to the layer that wrote it.
func hide(out *ExploredImage, top map[string]visible, p string) {
	v, ok := top[p]
	if !ok {
		return
	}
	f := &out.Layers[v.layer].Files[v.file]
	if !f.Hidden {
		f.Hidden = true
		out.Layers[v.layer].Wasted += v.size
	}
	delete(top, p)
}

// hideTree hides p and everything below it, except what this layer wrote.
func hideTree(out *ExploredImage, top map[string]visible, p string, keep map[string]visible) {
	prefix := p + "/"
	for q := range top {
		if _, kept := keep[q]; kept {
			continue
		}
		if q == p || strings.HasPrefix(q, prefix) {
			hide(out, top, q)
		}
	}
}
