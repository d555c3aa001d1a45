package build

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// WriteTar writes the context's files (sorted, as a daemon will unpack
// them) as the body of the Engine API's POST /build and, when extra is set,
// a Dockerfile under name.
func (bctx *Context) WriteTar(w io.Writer, name string, extra []byte) error {
	tw := tar.NewWriter(w)
	paths := make([]string, 0, len(bctx.Files))
	for p := range bctx.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := writeContextEntry(tw, bctx, p); err != nil {
			return err
		}
	}
	if extra != nil {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(extra)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(extra); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeContextEntry(tw *tar.Writer, bctx *Context, p string) error {
	info := bctx.Files[p]
	link := ""
	if info.Mode()&os.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(filepath.Join(bctx.Dir, filepath.FromSlash(p))); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("build context %s: %w", p, err)
	}
	hdr.Name = p
	if info.IsDir() {
		hdr.Name += "/"
	}
	// As docker's client: the daemon gets root-owned files.
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(filepath.Join(bctx.Dir, filepath.FromSlash(p)))
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("build context %s: %w", p, err)
	}
	return nil
}
