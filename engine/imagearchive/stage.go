package imagearchive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/berthkit/berth/engine/layer"
	"github.com/opencontainers/go-digest"
)

// stagedArchive is an archive unpacked under tmp/: regular files on disk,
// links as a map, each file's digest computed while it was written.
type stagedArchive struct {
	dir   string
	files map[string]stagedFile
	links map[string]string
}

type stagedFile struct {
	path   string
	digest digest.Digest
	size   int64
}

// OpenCompressed returns the uncompressed stream of r, which may be a plain
// tar or gzip, zstd or bzip2 compressed.
func OpenCompressed(r io.Reader, what string) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(6)
	if len(head) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("read %s: %w", what, err)
		}
		return nil, nil, fmt.Errorf("%s is empty: nothing to read", what)
	}
	switch {
	case bytes.HasPrefix(head, []byte("BZh")):
		return bzip2.NewReader(br), func() {}, nil
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, nil, fmt.Errorf("%s is xz-compressed, which berth does not read: decompress it first (xz -d)", what)
	}
	zr, err := layer.Decompress(br)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	return zr, func() { zr.Close() }, nil
}

// Error turns a tar or decompression failure of what (an archive, a
// tarball) into words for the user.
func Error(what string, err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s is truncated or corrupt (%v): nothing was loaded; make the archive again", what, err)
	case errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("%s is not a tar archive, or is corrupt (%v): nothing was loaded", what, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%s: no space left on device: nothing was loaded; free some space (berth image prune, berth system df) and try again", what)
	}
	msg := err.Error()
	if strings.Contains(msg, "gzip") || strings.Contains(msg, "flate") || strings.Contains(msg, "zstd") || strings.Contains(msg, "bzip2") {
		return fmt.Errorf("%s is corrupt (%v): nothing was loaded; make the archive again", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func stageArchive(ctx context.Context, t Target, r io.Reader) (*stagedArchive, error) {
	const what = "the image archive"
	plain, closeFn, err := OpenCompressed(r, what)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	dir, err := t.TempDir("load-")
	if err != nil {
		return nil, Error(what, err)
	}
	st := &stagedArchive{dir: dir, files: map[string]stagedFile{}, links: map[string]string{}}
	tr := tar.NewReader(plain)
	for first := true; ; first = false {
		if err := ctxErr(ctx); err != nil {
			return st, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if first && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, tar.ErrHeader)) {
				return st, fmt.Errorf("%s is not a tar archive (%v): nothing was loaded", what, err)
			}
			return st, Error(what, err)
		}
		name, ok := archivePath(hdr.Name)
		if !ok {
			return st, fmt.Errorf("%s has an unsafe entry %q: it is not an image archive berth will load", what, hdr.Name)
		}
		if name == "" {
			continue
		}
		if err := st.add(name, hdr, tr); err != nil {
			return st, Error(what, err)
		}
	}
	// Read to the real end: a gzip stream is only known sound at its trailer.
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return st, Error(what, err)
	}
	return st, nil
}

// add stages one entry: a regular file is written under dir and hashed, a
// link is remembered, anything else (directories, devices, fifos, which
// have no place in an image archive) is skipped.
func (st *stagedArchive) add(name string, hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		target := hdr.Linkname
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(name), target)
		}
		if t, ok := archivePath(target); ok {
			st.links[name] = t
		}
		return nil
	case tar.TypeLink:
		if t, ok := archivePath(hdr.Linkname); ok {
			st.links[name] = t
		}
		return nil
	case tar.TypeReg: // archive/tar reports old TypeRegA entries as TypeReg
	default:
		return nil
	}
	f, err := st.create(name)
	if err != nil {
		return err
	}
	digester := digest.Canonical.Digester()
	n, err := io.Copy(io.MultiWriter(f, digester.Hash()), r)
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err != nil {
		return err
	}
	st.files[name] = stagedFile{path: f.Name(), digest: digester.Digest(), size: n}
	return nil
}

// archivePath cleans an archive entry name; ok is false for names that
// climb out ("../x") .
func archivePath(name string) (string, bool) {
	clean := path.Clean("/" + name)
	if strings.Contains(name, "\x00") {
		return "", false
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false
		}
	}
	return strings.TrimPrefix(clean, "/"), true
}

func (st *stagedArchive) create(name string) (*os.File, error) {
	p := filepath.Join(st.dir, "files", filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
}

// lookup finds a file by archive path, following links.
func (st *stagedArchive) lookup(name string) (stagedFile, bool) {
	name, _ = archivePath(name)
	for hops := 0; hops < 16; hops++ {
		if f, ok := st.files[name]; ok {
			return f, true
		}
		target, ok := st.links[name]
		if !ok {
			return stagedFile{}, false
		}
		name = target
	}
	return stagedFile{}, false
}

func (st *stagedArchive) read(name string, max int64) ([]byte, stagedFile, error) {
	f, ok := st.lookup(name)
	if !ok {
		return nil, f, fmt.Errorf("the archive has no %s", name)
	}
	if f.size > max {
		return nil, f, fmt.Errorf("%s in the archive is %d bytes, too big for what it should be", name, f.size)
	}
	data, err := os.ReadFile(f.path)
	return data, f, err
}
