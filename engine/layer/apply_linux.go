package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// maxSparseTotal bounds the logical size of all sparse entries in one layer.
// archive/tar hands a sparse file's holes over as zeros, so without a bound a
// few kilobytes of hostile headers claiming exabytes of holes would keep
// Apply busy for ever. Diff writes sparse files beyond it densely, so every
// layer Diff makes is accepted. A variable so the fuzz test can lower it.
var maxSparseTotal int64 = 64 << 30

// sparseChunk is the granularity at which zeros of a sparse entry become holes.
const sparseChunk = 64 << 10

// Apply unpacks a layer stream (gzip, zstd or a plain tar, detected by its
// magic bytes) into root, creating root if needed.
//
// Every operation is relative to a descriptor of root: parents are resolved
// with openat2(RESOLVE_IN_ROOT), so symlinks in the layer or already in root
// resolve as if root were "/", and the last component is never followed.
// Entries that try to leave root, or to replace root with something other
// than a directory, fail with an error wrapping ErrUnsafe. A later entry with
// the same name replaces an earlier one, except that a directory meeting a
// directory keeps its contents.
//
// Owners are set when running as root; device nodes are made only as root
// (and skipped otherwise); xattrs the file system refuses are skipped, except
// security.capability as root. Directories get their mode and times after
// their contents.
func Apply(ctx context.Context, root string, r io.Reader, opts ApplyOptions) (*ApplyResult, error) {
	res, err := apply(ctx, root, r, opts)
	if err != nil {
		err = fmt.Errorf("apply layer to %s: %w", root, err)
		if opts.RemoveOnError {
			if rmErr := os.RemoveAll(root); rmErr != nil {
				err = fmt.Errorf("%w (and removing the half-written directory failed: %v; remove it by hand)", err, rmErr)
			}
		}
		return nil, err
	}
	return res, nil
}

func apply(ctx context.Context, rootDir string, r io.Reader, opts ApplyOptions) (*ApplyResult, error) {
	algorithm := digest.Canonical
	if opts.ExpectDiffID != "" {
		if err := opts.ExpectDiffID.Validate(); err != nil {
			return nil, fmt.Errorf("expected diff ID %q: %w", opts.ExpectDiffID, err)
		}
		algorithm = opts.ExpectDiffID.Algorithm()
	}
	if err := os.MkdirAll(rootDir, 0o755); err != nil {
		return nil, err
	}
	rt, err := openRoot(rootDir)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	stream, err := Decompress(r)
	if err != nil {
		return nil, err
	}
	defer stream.Close()

	hashed := &hashReader{ctx: ctx, r: stream, h: algorithm.Hash()}
	tr := tar.NewReader(hashed)
	a := &applier{
		root:   rt,
		opts:   opts,
		isRoot: os.Geteuid() == 0,
		dirs:   map[string]*tar.Header{},
		buf:    make([]byte, copyBufferSize),
	}
	if opts.Whiteouts == WhiteoutDelete {
		a.unpacked = map[string]struct{}{}
	}
	entries := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read layer after %d entries: %w", entries, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if err := a.entry(hdr, tr); err != nil {
			if errors.Is(err, ErrUnsafe) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", hdr.Name, err)
		}
		entries++
	}
	// Whatever follows the end-of-archive blocks is part of the diff ID too.
	if _, err := io.CopyBuffer(io.Discard, hashed, a.buf); err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	diffID := digest.NewDigest(algorithm, hashed.h)
	if opts.ExpectDiffID != "" && diffID != opts.ExpectDiffID {
		return nil, fmt.Errorf("layer diff ID is %s, the image config expects %s: the blob is corrupt or belongs to another image; pull or load it again", diffID, opts.ExpectDiffID)
	}
	if err := a.finishDirs(); err != nil {
		return nil, err
	}
	return &ApplyResult{DiffID: diffID, Size: hashed.n, Entries: entries}, nil
}

// hashReader hashes and counts what it reads, and stops when ctx is done, so
// even one huge file can be interrupted.
type hashReader struct {
	ctx context.Context
	r   io.Reader
	h   hash.Hash
	n   int64
}

func (hr *hashReader) Read(p []byte) (int, error) {
	if err := hr.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	return n, err
}

type applier struct {
	root     *root
	opts     ApplyOptions
	isRoot   bool
	dirs     map[string]*tar.Header // directory metadata, set after contents
	unpacked map[string]struct{}    // WhiteoutDelete: names this layer wrote
	buf      []byte
	zeros    []byte

	sparseTotal int64 // logical bytes of sparse entries so far
}

func splitName(name string) (dir, base string) {
	dir, base = path.Split(name)
	return strings.TrimSuffix(dir, "/"), base
}

func (a *applier) entry(hdr *tar.Header, tr *tar.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return unsafeEntry(hdr.Name, "would replace the root directory itself")
		}
		a.dirs[""] = hdr
		return nil
	}
	dir, base := splitName(name)
	if strings.HasPrefix(base, WhiteoutPrefix) {
		return a.whiteout(dir, base, hdr)
	}

	parent, err := a.root.mkdirAll(dir, unix.O_PATH)
	if err != nil {
		return fmt.Errorf("open parent directory: %w", err)
	}
	defer unix.Close(parent)
	a.noteUnpacked(name)

	// Replace what is there, unless a directory meets a directory.
	st, exists, err := lstatAt(parent, base)
	if err != nil {
		return err
	}
	isDir := exists && st.Mode&unix.S_IFMT == unix.S_IFDIR
	if exists && !(hdr.Typeflag == tar.TypeDir && isDir) {
		if err := removeAllAt(parent, base); err != nil {
			return fmt.Errorf("replace existing entry: %w", err)
		}
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		if !isDir {
			if err := unix.Mkdirat(parent, base, 0o700); err != nil {
				return err
			}
		}
		a.dirs[name] = hdr
		return nil
	case tar.TypeReg, '\x00', tar.TypeCont, tar.TypeGNUSparse:
		return a.regular(parent, base, hdr, tr)
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return err
		}
		return a.setMetadataAt(parent, base, hdr, true)
	case tar.TypeLink:
		return a.hardlink(parent, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := uint32(unix.S_IFIFO)
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode = unix.S_IFCHR
		case tar.TypeBlock:
			mode = unix.S_IFBLK
		}
		if mode != unix.S_IFIFO && !a.isRoot {
			return nil // as Docker does rootless: device nodes need root
		}
		dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
		if err := unix.Mknodat(parent, base, mode|0o600, dev); err != nil {
			if err == unix.EPERM && mode != unix.S_IFIFO {
				return nil // root in a user namespace cannot make devices either
			}
			return err
		}
		return a.setMetadataAt(parent, base, hdr, false)
	}
	return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
}

// noteUnpacked remembers name and its parents, which an opaque whiteout in
// WhiteoutDelete mode must keep.
func (a *applier) noteUnpacked(name string) {
	if a.unpacked == nil {
		return
	}
	for name != "" && name != "." {
		if _, ok := a.unpacked[name]; ok {
			return
		}
		a.unpacked[name] = struct{}{}
		name = path.Dir(name)
	}
}

func (a *applier) regular(parent int, base string, hdr *tar.Header, tr *tar.Reader) error {
	sparse := hdr.Typeflag == tar.TypeGNUSparse
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			sparse = true
		}
	}
	if sparse {
		a.sparseTotal += hdr.Size
		if a.sparseTotal > maxSparseTotal {
			return unsafeEntry(hdr.Name, fmt.Sprintf("sparse files in this layer claim more than %d GiB", maxSparseTotal>>30))
		}
	}
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	var n int64
	if sparse {
		n, err = a.copySparse(f, tr)
	} else {
		n, err = io.CopyBuffer(struct{ io.Writer }{f}, tr, a.buf)
	}
	if err != nil {
		return fmt.Errorf("write content: %w", err)
	}
	if n != hdr.Size {
		return fmt.Errorf("write content: %d of %d bytes: %w", n, hdr.Size, io.ErrUnexpectedEOF)
	}
	if a.isRoot {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := a.setXattrs(hdr, func(name string, value []byte) error {
		return unix.Fsetxattr(fd, name, value, 0)
	}); err != nil {
		return err
	}
	return setTimes(parent, base, hdr)
}

// copySparse writes a sparse entry, turning runs of zeros into holes.
func (a *applier) copySparse(f *os.File, tr io.Reader) (int64, error) {
	if a.zeros == nil {
		a.zeros = make([]byte, sparseChunk)
	}
	buf := a.buf[:sparseChunk]
	var written, hole int64
	for {
		n, err := io.ReadFull(tr, buf)
		if n > 0 {
			if bytes.Equal(buf[:n], a.zeros[:n]) {
				hole += int64(n)
			} else {
				if hole > 0 {
					if _, err := f.Seek(hole, io.SeekCurrent); err != nil {
						return written, err
					}
					written, hole = written+hole, 0
				}
				if _, err := f.Write(buf[:n]); err != nil {
					return written, err
				}
				written += int64(n)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return written, err
		}
	}
	if hole > 0 {
		written += hole
		if err := f.Truncate(written); err != nil {
			return written, err
		}
	}
	return written, nil
}

func (a *applier) hardlink(parent int, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return err
	}
	if target == "" {
		return unsafeEntry(hdr.Name, "hard link to the root directory")
	}
	targetDir, targetBase := splitName(target)
	targetParent, err := a.root.openDir(targetDir, unix.O_PATH)
	if err != nil {
		return fmt.Errorf("hard link target %s: %w", hdr.Linkname, err)
	}
	defer unix.Close(targetParent)
	// Without AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
	if err := unix.Linkat(targetParent, targetBase, parent, base, 0); err != nil {
		return fmt.Errorf("hard link to %s: %w", hdr.Linkname, err)
	}
	return nil
}

// whiteout handles ".wh.<name>" and ".wh..wh..opq" in dir.
func (a *applier) whiteout(dir, base string, hdr *tar.Header) error {
	if base == WhiteoutOpaqueDir {
		return a.opaque(dir)
	}
	if strings.HasPrefix(base, WhiteoutMetaPrefix) {
		return nil // aufs bookkeeping (.wh..wh.plnk and friends)
	}
	name := strings.TrimPrefix(base, WhiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return unsafeEntry(hdr.Name, "a whiteout that names no file would delete its own directory or one above it")
	}
	if a.opts.Whiteouts == WhiteoutDelete {
		parent, err := a.root.openDir(dir, unix.O_PATH)
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return nil // nothing to delete
		}
		if err != nil {
			return err
		}
		defer unix.Close(parent)
		return removeAllAt(parent, name)
	}
	parent, err := a.root.mkdirAll(dir, unix.O_PATH)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	if err := removeAllAt(parent, name); err != nil {
		return err
	}
	if err := unix.Mknodat(parent, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("make overlay whiteout for %s: %w (overlay whiteouts need root; flatten with WhiteoutDelete instead)", path.Join(dir, name), err)
	}
	if a.isRoot {
		if err := unix.Fchownat(parent, name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

// opaque hides what lower layers have in dir: an xattr for overlayfs, or
// deleting everything this layer did not write.
func (a *applier) opaque(dir string) error {
	if a.opts.Whiteouts == WhiteoutDelete {
		fd, err := a.root.openDir(dir, unix.O_RDONLY)
		if err == unix.ENOENT {
			return nil
		}
		if err != nil {
			return err
		}
		return removeChildren(fd, func(name string) bool {
			_, keep := a.unpacked[path.Join(dir, name)]
			return keep
		})
	}
	fd, err := a.root.mkdirAll(dir, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	name := "trusted.overlay.opaque"
	if inUserNS() {
		name = "user.overlay.opaque" // read by overlay mounted with userxattr
	}
	if err := unix.Fsetxattr(fd, name, []byte("y"), 0); err != nil {
		return fmt.Errorf("mark %s opaque: %w (overlay whiteouts need root; flatten with WhiteoutDelete instead)", dir, err)
	}
	return nil
}

// setMetadataAt sets owner, mode, xattrs and times of a symlink, device or
// fifo without following it.
func (a *applier) setMetadataAt(parent int, base string, hdr *tar.Header, symlink bool) error {
	if a.isRoot {
		if err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if !symlink {
		mode := uint32(hdr.Mode & 0o7777)
		err := unix.Fchmodat(parent, base, mode, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
			// No fchmodat2 (Linux < 6.6). We made this node a moment ago
			// in a directory only we write to, so it is not a symlink.
			err = unix.Fchmodat(parent, base, mode, 0)
		}
		if err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := a.setXattrs(hdr, func(name string, value []byte) error {
		return unix.Lsetxattr(procPath(parent, base), name, value, 0)
	}); err != nil {
		return err
	}
	return setTimes(parent, base, hdr)
}

// setXattrs applies the entry's SCHILY.xattr records with set. overlayfs's
// own xattrs are never taken from a layer: they would let it redirect or
// hide lower dirs.
func (a *applier) setXattrs(hdr *tar.Header, set func(name string, value []byte) error) error {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattr)
		if !ok || skipXattr(name) {
			continue
		}
		err := set(name, []byte(v))
		if err == nil {
			continue
		}
		if name == "security.capability" && a.isRoot {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
		switch err {
		case unix.ENOTSUP, unix.EPERM, unix.EACCES, unix.ERANGE, unix.E2BIG, unix.EINVAL, unix.ENOSPC:
			continue // the file system or our privileges do not allow it
		}
		return fmt.Errorf("set xattr %s: %w", name, err)
	}
	return nil
}

func setTimes(parent int, base string, hdr *tar.Header) error {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	ts := []unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
	if err := unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{}
	}
	return unix.NsecToTimespec(t.UnixNano())
}

// finishDirs sets the metadata of directories after their contents, deepest
// first, so neither a read-only mode nor a later entry's creation undoes it.
func (a *applier) finishDirs() error {
	names := make([]string, 0, len(a.dirs))
	for name := range a.dirs {
		names = append(names, name)
	}
	depth := func(name string) int {
		if name == "" {
			return -1
		}
		return strings.Count(name, "/")
	}
	slices.SortFunc(names, func(x, y string) int {
		if dx, dy := depth(x), depth(y); dx != dy {
			return dy - dx
		}
		return strings.Compare(x, y)
	})
	for _, name := range names {
		if err := a.finishDir(name, a.dirs[name]); err != nil {
			return fmt.Errorf("%s: %w", a.dirs[name].Name, err)
		}
	}
	return nil
}

func (a *applier) finishDir(name string, hdr *tar.Header) error {
	dir, base := splitName(name)
	if name == "" {
		dir, base = "", "."
	}
	parent, err := a.root.openDir(dir, unix.O_PATH)
	if err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return nil // deleted by a later whiteout
		}
		return err
	}
	defer unix.Close(parent)
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if name != "" {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat(parent, base, flags, 0)
	if err != nil {
		switch err {
		case unix.ENOENT, unix.ENOTDIR, unix.ELOOP:
			return nil // replaced by a later entry
		}
		return err
	}
	defer unix.Close(fd)
	if a.isRoot {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := a.setXattrs(hdr, func(name string, value []byte) error {
		return unix.Fsetxattr(fd, name, value, 0)
	}); err != nil {
		return err
	}
	return setTimes(parent, base, hdr)
}
