package layer

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

const (
	// A sparse file with more data extents than this is written dense; its
	// map would cost more than the holes save.
	maxSparseExtents = 4096
	// copyBufferSize is the unit of file reads and of the hand-over between
	// the tar stage and the compression stage.
	copyBufferSize = 256 << 10
	paxXattr       = "SCHILY.xattr."
)

// Diff walks an overlay upper dir (or any plain dir) and writes an OCI layer
// tar, compressed per opts, to w. The tar is deterministic: names in byte
// order, parents before children, no user or group names, no access or
// change times, mtimes in whole seconds, so the same tree always gives the
// same DiffID.
//
// The tar is written straight into the compressor, which compresses on
// all cores in goroutines of its own (pgzip's blocks, zstd's jobs) and
// writes to w in order; the DiffID is hashed on the tar side and the Digest
// on the compressed side, so no layer is ever held in memory or read twice.
func Diff(ctx context.Context, upperDir string, w io.Writer, opts DiffOptions) (*DiffResult, error) {
	if fi, err := os.Stat(upperDir); err != nil {
		return nil, fmt.Errorf("diff %s: %w", upperDir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("diff %s: not a directory", upperDir)
	}
	blob := &hashWriter{w: w, h: digest.Canonical.Hash()}
	compressor, err := newCompressor(blob, opts.Compression, opts.Level)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", upperDir, err)
	}

	var tarred *tarResult
	if compressor == nil {
		tarred = writeTar(ctx, upperDir, blob, opts, true)
	} else {
		tarred = writeTar(ctx, upperDir, compressor, opts, false)
		// Close waits for the compressor's goroutines even after an error.
		if closeErr := compressor.Close(); tarred.err == nil && closeErr != nil {
			tarred.err = fmt.Errorf("compress layer: %w", closeErr)
		}
	}
	if tarred.err != nil {
		return nil, fmt.Errorf("diff %s: %w", upperDir, tarred.err)
	}
	res := &DiffResult{
		DiffID:           tarred.diffID,
		Digest:           digest.NewDigest(digest.Canonical, blob.h),
		Size:             blob.n,
		UncompressedSize: tarred.size,
		MediaType:        opts.Compression.MediaType(),
		Empty:            tarred.entries == 0,
		Summary:          tarred.summary,
	}
	return res, nil
}

// Changes lists what changed in upperDir against lowerDirs (top first) like
// `docker diff`: A for added, C for changed, D for deleted, in tar order.
// Parents of a change appear as C, because overlayfs copied them up.
func Changes(upperDir string, lowerDirs []string) ([]Change, error) {
	d := newDiffer(context.Background(), upperDir, DiffOptions{LowerDirs: lowerDirs})
	if err := d.walk("", false); err != nil {
		return nil, fmt.Errorf("changes in %s: %w", upperDir, err)
	}
	return d.summary.Changes, nil
}

type tarResult struct {
	diffID  digest.Digest
	size    int64
	entries int
	summary Summary
	err     error
}

// writeTar writes the tar of upperDir to w, hashing it on the way. A
// plain w (a file, a pipe) gets the tar's 512-byte headers in batches; a
// compressor, which buffers itself, gets every write as it comes, so file
// contents are copied once (into the compressor's blocks), not twice.
func writeTar(ctx context.Context, upperDir string, w io.Writer, opts DiffOptions, batch bool) *tarResult {
	hw := &hashWriter{ctx: ctx, w: w, h: digest.Canonical.Hash()}
	var out io.Writer = hw
	var bw *bufio.Writer
	if batch {
		bw = bufio.NewWriterSize(hw, copyBufferSize)
		out = bw
	}
	tw := tar.NewWriter(out)
	d := newDiffer(ctx, upperDir, opts)
	d.tw, d.raw = tw, out
	err := d.walk("", false)
	if err == nil {
		err = tw.Close()
	}
	if err == nil && bw != nil {
		err = bw.Flush()
	}
	d.finishSummary()
	return &tarResult{
		diffID:  digest.NewDigest(digest.Canonical, hw.h),
		size:    hw.n,
		entries: d.entries,
		summary: d.summary,
		err:     err,
	}
}

// hashWriter hashes and counts what it writes; with a ctx it stops when ctx
// is done, so even one huge file can be interrupted.
type hashWriter struct {
	ctx context.Context // may be nil
	w   io.Writer
	h   hash.Hash
	n   int64
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	if hw.ctx != nil {
		if err := hw.ctx.Err(); err != nil {
			return 0, err
		}
	}
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

type inodeKey struct{ dev, ino uint64 }

// differ walks an upper dir once, writing tar entries (when tw is set) and
// the summary in the same pass.
type differ struct {
	epoch   time.Time // clamp for modification times, zero for none
	ctx     context.Context
	upper   string
	lowers  []string
	tw      *tar.Writer // nil: only list changes
	raw     io.Writer   // what tw writes to, for sparse entries
	inodes  map[inodeKey]string
	entries int

	sparseTotal int64 // logical bytes written as sparse entries

	summary    Summary
	maxChanges int        // 0: no limit
	largest    []PathSize // min-heap by size
	maxLargest int

	xattrNames []byte
	xattrValue []byte
	copyBuf    []byte
}

func newDiffer(ctx context.Context, upper string, opts DiffOptions) *differ {
	n := opts.Largest
	if n == 0 {
		n = 10
	}
	n = max(n, 0)
	return &differ{
		ctx:        ctx,
		upper:      upper,
		lowers:     opts.LowerDirs,
		epoch:      opts.Epoch,
		inodes:     map[inodeKey]string{},
		maxLargest: n,
		maxChanges: max(opts.MaxChanges, 0),
		xattrNames: make([]byte, 1024),
		xattrValue: make([]byte, 1024),
	}
}

// walk emits the entries of the directory rel ("" for the upper dir itself)
// in byte order, depth first. underOpaque is set inside an opaque directory,
// where nothing of the lower dirs shows through.
func (d *differ) walk(rel string, underOpaque bool) error {
	names, err := readDirNames(filepath.Join(d.upper, rel))
	if err != nil {
		return err
	}
	for i := range names.len() {
		name := names.name(i)
		if err := d.ctx.Err(); err != nil {
			return err
		}
		if name == fuseOpaqueFile || name == fuseOpaqueDev {
			continue // fuse-overlayfs's opaque markers: isOpaque reads them
		}
		if err := d.entry(path.Join(rel, name), underOpaque); err != nil {
			return err
		}
	}
	return nil
}

func (d *differ) entry(rel string, underOpaque bool) error {
	full := filepath.Join(d.upper, rel)
	var st unix.Stat_t
	if err := unix.Lstat(full, &st); err != nil {
		if err == unix.ENOENT {
			return nil // removed while we walked a running container
		}
		return &os.PathError{Op: "lstat", Path: full, Err: err}
	}
	mode := st.Mode & unix.S_IFMT
	if mode == unix.S_IFCHR && st.Rdev == 0 {
		return d.whiteout(rel, &st)
	}
	if mode == unix.S_IFSOCK {
		return nil // a tar cannot hold a socket; Docker skips them too
	}

	hdr := &tar.Header{
		Name:    rel,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, 0),
		Format:  tar.FormatPAX,
	}
	opaque := false
	if mode == unix.S_IFDIR {
		// fuse-overlayfs marks even a new directory opaque; that marker
		// hides nothing unless a lower dir has the directory, and kernel
		// overlayfs would not write it, so it is left out.
		opaque = isOpaque(full) || (isFuseOpaque(full) && d.lowerStat(rel) != nil)
	}
	d.classify(rel, &st, underOpaque)
	if d.tw == nil {
		if mode == unix.S_IFDIR {
			return d.walk(rel, underOpaque || opaque)
		}
		return nil
	}
	records, err := d.xattrs(full)
	if err != nil {
		return err
	}
	hdr.PAXRecords = records

	if mode == unix.S_IFDIR {
		return d.dir(rel, hdr, &st, underOpaque || opaque, opaque)
	}
	if err := setTypeflag(hdr, full, mode, &st); err != nil {
		return err
	}

	// A second name for an inode already in the layer becomes a hard link.
	if st.Nlink > 1 {
		key := inodeKey{st.Dev, st.Ino}
		if first, ok := d.inodes[key]; ok {
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = first
			return d.writeHeader(hdr)
		}
		d.inodes[key] = rel
	}
	if hdr.Typeflag != tar.TypeReg {
		return d.writeHeader(hdr)
	}
	return d.regular(full, hdr, &st)
}

// dir writes a directory's header, then its opaque marker when it hides
// the lower layers' content, then what it holds.
func (d *differ) dir(rel string, hdr *tar.Header, st *unix.Stat_t, underOpaque, opaque bool) error {
	hdr.Typeflag = tar.TypeDir
	hdr.Name += "/"
	if err := d.writeHeader(hdr); err != nil {
		return err
	}
	if opaque {
		// Right after its directory, before anything new in it, as Docker writes it.
		if err := d.writeHeader(&tar.Header{
			Typeflag: tar.TypeReg,
			Name:     path.Join(rel, WhiteoutOpaqueDir),
			Mode:     int64(st.Mode & 0o777),
			Uid:      int(st.Uid),
			Gid:      int(st.Gid),
			ModTime:  time.Unix(0, 0),
			Format:   tar.FormatPAX,
		}); err != nil {
			return err
		}
	}
	return d.walk(rel, underOpaque)
}

// setTypeflag fills the tar type of a file that is not a directory (and
// a symlink's target, a device's numbers).
func setTypeflag(hdr *tar.Header, full string, mode uint32, st *unix.Stat_t) error {
	switch mode {
	case unix.S_IFLNK:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if mode == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor = int64(unix.Major(st.Rdev))
		hdr.Devminor = int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFREG:
		hdr.Typeflag = tar.TypeReg
	default:
		return fmt.Errorf("%s: unsupported file type %#o", hdr.Name, mode)
	}
	return nil
}

func (d *differ) writeHeader(hdr *tar.Header) error {
	d.entries++
	if !d.epoch.IsZero() && hdr.ModTime.After(d.epoch) {
		hdr.ModTime = d.epoch
	}
	if err := d.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s: %w", hdr.Name, err)
	}
	return nil
}

// regular writes a regular file's header and content, sparse when the file
// has holes.
func (d *differ) regular(full string, hdr *tar.Header, st *unix.Stat_t) error {
	fd, err := unix.Open(full, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: full, Err: err}
	}
	f := os.NewFile(uintptr(fd), full)
	defer f.Close()
	if d.copyBuf == nil {
		d.copyBuf = make([]byte, copyBufferSize)
	}
	size := st.Size
	d.noteSize(hdr.Name, size)

	if size > 0 && st.Blocks*512 < size && d.sparseTotal+size <= maxSparseTotal {
		if extents, ok := dataExtents(fd, size); ok {
			if err := d.tw.Flush(); err != nil {
				return err
			}
			d.entries++
			n, err := writeSparseEntry(d.raw, sparseHeader{
				Name: hdr.Name, Mode: hdr.Mode, Uid: hdr.Uid, Gid: hdr.Gid,
				ModTime: st.Mtim.Sec, Size: size, Records: hdr.PAXRecords,
			}, extents, f, d.copyBuf)
			if err != nil {
				return fmt.Errorf("write sparse %s: %w", hdr.Name, err)
			}
			d.summary.Bytes += n
			d.sparseTotal += size
			return nil
		}
	}
	hdr.Size = size
	if err := d.writeHeader(hdr); err != nil {
		return err
	}
	n, err := io.CopyBuffer(d.tw, io.LimitReader(f, size), d.copyBuf)
	if err != nil {
		return fmt.Errorf("write %s: %w", hdr.Name, err)
	}
	if n != size {
		return fmt.Errorf("write %s: file shrank from %d to %d bytes while being read; stop or pause the container first", hdr.Name, size, n)
	}
	d.summary.Bytes += n
	return nil
}

// dataExtents maps a file's data with SEEK_DATA/SEEK_HOLE. ok is false when
// the file system cannot tell or the map would be too long.
func dataExtents(fd int, size int64) (extents []extent, ok bool) {
	var off int64
	for off < size {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole remains
		}
		if err != nil {
			return nil, false
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, false
		}
		if hole > size {
			hole = size
		}
		if hole <= data {
			break
		}
		extents = append(extents, extent{data, hole - data})
		if len(extents) > maxSparseExtents {
			return nil, false
		}
		off = hole
	}
	if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
		return nil, false
	}
	if len(extents) == 1 && extents[0] == (extent{0, size}) {
		return nil, false // no hole after all
	}
	return extents, true
}

// whiteout turns an overlay whiteout (a 0/0 character device) into ".wh.<name>".
func (d *differ) whiteout(rel string, st *unix.Stat_t) error {
	d.summary.Deleted++
	d.addChange(ChangeDelete, rel)
	if d.tw == nil {
		return nil
	}
	dir, name := path.Split(rel)
	return d.writeHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     dir + WhiteoutPrefix + name,
		Mode:     0o600,
		Uid:      int(st.Uid),
		Gid:      int(st.Gid),
		ModTime:  time.Unix(st.Mtim.Sec, 0),
		Format:   tar.FormatPAX,
	})
}

// addChange lists one entry in the summary's Changes, unless the list
// is full (DiffOptions.MaxChanges): a commit of 100,000 new files kept a
// path string and a Change for each (over 6 MiB) to show 200 of them.
func (d *differ) addChange(kind ChangeKind, rel string) {
	if d.maxChanges > 0 && len(d.summary.Changes) >= d.maxChanges {
		return
	}
	d.summary.Changes = append(d.summary.Changes, Change{kind, "/" + rel})
}

// classify records the entry as added or changed.
func (d *differ) classify(rel string, st *unix.Stat_t, underOpaque bool) {
	var lower *unix.Stat_t
	if !underOpaque {
		lower = d.lowerStat(rel)
	}
	if lower == nil {
		d.summary.Added++
		d.addChange(ChangeAdd, rel)
		return
	}
	d.addChange(ChangeModify, rel)
	copiedUpParent := st.Mode&unix.S_IFMT == unix.S_IFDIR && lower.Mode == st.Mode &&
		lower.Uid == st.Uid && lower.Gid == st.Gid
	if !copiedUpParent {
		d.summary.Changed++
	}
}

// lowerStat finds rel in the topmost lower dir that has it. A whiteout there
// means it is not visible. Opaque directories in lower dirs are not
// consulted: an entry they hide is counted as changed rather than added.
func (d *differ) lowerStat(rel string) *unix.Stat_t {
	for _, lower := range d.lowers {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(lower, rel), &st); err != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			return nil
		}
		return &st
	}
	return nil
}

// noteSize keeps the largest files in a min-heap.
func (d *differ) noteSize(name string, size int64) {
	p := PathSize{Path: "/" + name, Size: size}
	h := d.largest
	if len(h) < d.maxLargest {
		h = append(h, p)
		for i := len(h) - 1; i > 0; { // sift up
			parent := (i - 1) / 2
			if !smaller(h[i], h[parent]) {
				break
			}
			h[i], h[parent] = h[parent], h[i]
			i = parent
		}
		d.largest = h
		return
	}
	if len(h) == 0 || !smaller(h[0], p) {
		return
	}
	h[0] = p
	for i := 0; ; { // sift down
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && smaller(h[l], h[least]) {
			least = l
		}
		if r < len(h) && smaller(h[r], h[least]) {
			least = r
		}
		if least == i {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}

// smaller orders by size, then by reverse path so ties keep the first names.
func smaller(a, b PathSize) bool {
	if a.Size != b.Size {
		return a.Size < b.Size
	}
	return a.Path > b.Path
}

func (d *differ) finishSummary() {
	largest := slices.Clone(d.largest)
	slices.SortFunc(largest, func(a, b PathSize) int {
		if smaller(a, b) {
			return 1
		}
		if smaller(b, a) {
			return -1
		}
		return 0
	})
	d.summary.Largest = largest
}

// Xattrs that are not part of the image: overlayfs's own bookkeeping, which
// Diff converts to whiteouts, and SELinux labels, which belong to the host.
func skipXattr(name string) bool {
	return strings.HasPrefix(name, "trusted.overlay.") ||
		strings.HasPrefix(name, "user.overlay.") ||
		strings.HasPrefix(name, "user.fuseoverlayfs.") ||
		name == "security.selinux"
}

// xattrs reads an entry's extended attributes as PAX records.
func (d *differ) xattrs(full string) (map[string]string, error) {
	n, err := getSized(&d.xattrNames, func(b []byte) (int, error) { return unix.Llistxattr(full, b) })
	if err != nil {
		if err == unix.ENOTSUP {
			return nil, nil
		}
		return nil, &os.PathError{Op: "llistxattr", Path: full, Err: err}
	}
	var records map[string]string
	for name := range strings.SplitSeq(string(d.xattrNames[:n]), "\x00") {
		if name == "trusted.overlay.metacopy" || name == "trusted.overlay.redirect" {
			// The data or the directory's contents live in a lower dir under
			// another name; a diff of the upper dir alone would be wrong.
			return nil, fmt.Errorf("%s has %s: mount the snapshot with metacopy=off,redirect_dir=off", full, name)
		}
		if name == "" || skipXattr(name) {
			continue
		}
		vn, err := getSized(&d.xattrValue, func(b []byte) (int, error) { return unix.Lgetxattr(full, name, b) })
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "lgetxattr " + name, Path: full, Err: err}
		}
		if records == nil {
			records = map[string]string{}
		}
		records[paxXattr+name] = string(d.xattrValue[:vn])
	}
	return records, nil
}

// getSized calls an xattr syscall, growing buf on ERANGE.
func getSized(buf *[]byte, call func([]byte) (int, error)) (int, error) {
	for {
		n, err := call(*buf)
		if err != unix.ERANGE {
			return n, err
		}
		size, err := call(nil)
		if err != nil {
			return 0, err
		}
		*buf = make([]byte, max(size, 2*len(*buf)))
	}
}

// fuse-overlayfs's markers of an opaque directory, inside it.
const (
	fuseOpaqueFile = ".wh..wh..opq"
	fuseOpaqueDev  = ".wh..opq"
)

// isFuseOpaque reports fuse-overlayfs's opaque markers (rootless mode
// without kernel overlayfs): a user.fuseoverlayfs.opaque xattr, or a
// .wh..wh..opq file in the directory.
func isFuseOpaque(full string) bool {
	if st, err := os.Lstat(filepath.Join(full, fuseOpaqueFile)); err == nil && st.Mode().IsRegular() {
		return true
	}
	var b [2]byte
	n, err := unix.Lgetxattr(full, "user.fuseoverlayfs.opaque", b[:])
	return err == nil && n == 1 && b[0] == 'y'
}

// isOpaque reports an overlay opaque directory: trusted.overlay.opaque=y
// (user.overlay.opaque with the userxattr mount option).
func isOpaque(full string) bool {
	var b [2]byte
	for _, name := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		n, err := unix.Lgetxattr(full, name, b[:])
		if err == nil && n == 1 && b[0] == 'y' {
			return true
		}
	}
	return false
}
