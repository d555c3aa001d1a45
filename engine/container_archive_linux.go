package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/snapshot"
	"github.com/berthkit/berth/engine/store"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// containerRoot gives the container's root file system on the host: a
// running one's through /proc/<pid>/root (its mounts and volumes as it sees
// them), a stopped one's overlay mounted in a private directory until
// release.
func (e *Engine) containerRoot(idOrName string) (c *store.Container, root string, release func(), err error) {
	c, err = e.container(idOrName)
	if err != nil {
		return nil, "", nil, err
	}
	if c.State.Running() && c.State.Pid > 0 {
		return c, "/proc/" + strconv.Itoa(c.State.Pid) + "/root", func() {}, nil
	}
	root, release, err = e.mountSnapshot(c)
	if err != nil {
		return nil, "", nil, err
	}
	return c, root, release, nil
}

// mountSnapshot mounts the overlay of a container that is not running (its
// image's layers and what it wrote, no volumes) in a private directory
// under tmp/, until release.
func (e *Engine) mountSnapshot(c *store.Container) (root string, release func(), err error) {
	mounts, err := snapshot.New(e.Store.ContainersDir()).Mounts(c.ID)
	if err != nil {
		return "", nil, fmt.Errorf("container %s: %w", c.ShortID(), err)
	}
	dir, err := e.Store.TempDir("cp-")
	if err != nil {
		return "", nil, err
	}
	for _, m := range mounts {
		if err := snapshot.MountAt(m, dir); err != nil {
			_ = unix.Unmount(dir, unix.MNT_DETACH)
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("mount the file system of container %s: %w", c.ShortID(), err)
		}
	}
	return dir, func() {
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		_ = os.Remove(dir)
	}, nil
}

// openInContainer opens the parent of p inside root (symlinks resolved as
// if root were "/", never out of it) and returns it with p's last
// component, not followed.
func openInContainer(root, p string) (parent *os.File, base string, err error) {
	clean := path.Clean("/" + p)
	dir, base := path.Split(clean)
	if base == "" {
		base = "."
	}
	parent, err = pathrs.OpenInRoot(root, dir)
	if err != nil {
		return nil, "", err
	}
	return parent, base, nil
}

// StatContainerPath is docker cp's stat of a path in a container.
func (e *Engine) StatContainerPath(ctx context.Context, idOrName, p string) (*PathStat, error) {
	c, root, release, err := e.containerRoot(idOrName)
	if err != nil {
		return nil, err
	}
	defer release()
	parent, base, err := openInContainer(root, p)
	if err != nil {
		return nil, notFoundPath(c, p, err)
	}
	defer parent.Close()
	return statAt(parent, base, p, c)
}

func statAt(parent *os.File, base, p string, c *store.Container) (*PathStat, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, notFoundPath(c, p, err)
	}
	ps := &PathStat{Name: path.Base(path.Clean("/" + p)), Size: st.Size, Mode: modeOf(st.Mode), Mtime: time.Unix(st.Mtim.Unix())}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		buf := make([]byte, 4096)
		if n, err := unix.Readlinkat(int(parent.Fd()), base, buf); err == nil {
			ps.LinkTarget = string(buf[:n])
		}
	}
	return ps, nil
}

func notFoundPath(c *store.Container, p string, err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return pathNotFound(fmt.Sprintf("Could not find the file %s in container %s", p, c.Name))
	}
	return fmt.Errorf("stat %s in container %s: %w", p, c.Name, err)
}

// modeOf converts a stat mode to an os.FileMode, as Go's os.Stat does.
func modeOf(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

// CopyFromContainer writes a tar of path p (a file, a link or a directory
// and all below it, named from p's last component) to w: docker cp out.
// stat is called with p's stat before anything is written.
func (e *Engine) CopyFromContainer(ctx context.Context, idOrName, p string, stat func(*PathStat) error, w io.Writer) error {
	c, root, release, err := e.containerRoot(idOrName)
	if err != nil {
		return err
	}
	defer release()
	parent, base, err := openInContainer(root, p)
	if err != nil {
		return notFoundPath(c, p, err)
	}
	defer parent.Close()
	ps, err := statAt(parent, base, p, c)
	if err != nil {
		return err
	}
	if err := stat(ps); err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	name := ps.Name
	if name == "/" || name == "." {
		name = "."
	}
	if ps.Mode.IsDir() {
		// O_NOFOLLOW: the directory checked is the one walked, even if
		// the container swaps it for a link meanwhile; os.Root keeps
		// every step below it inside.
		fd, err := unix.Openat(int(parent.Fd()), base, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return notFoundPath(c, p, err)
		}
		dir := os.NewFile(uintptr(fd), base)
		defer dir.Close()
		if err := tarTree(ctx, tw, "/proc/self/fd/"+strconv.Itoa(fd), name, false); err != nil {
			return err
		}
		return tw.Close()
	}
	if err := tarEntryAt(tw, parent, base, name); err != nil {
		return err
	}
	return tw.Close()
}

// tarTree writes the tree at dir (an fd path) as entries under prefix.
// With oneFS, what is mounted below (a running container's /proc, /sys,
// /dev and volumes) is left out but for its empty mount point, as docker
// export does.
func tarTree(ctx context.Context, tw *tar.Writer, dir, prefix string, oneFS bool) error {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	var rootDev uint64
	if fi, err := r.Lstat("."); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			rootDev = st.Dev
		}
	}
	return fs.WalkDir(r.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := path.Join(prefix, rel)
		if prefix == "." {
			name = rel
			if rel == "." {
				return nil
			}
		}
		if err := tarRootEntry(tw, r, rel, name); err != nil {
			return err
		}
		if oneFS && d.IsDir() {
			if fi, err := r.Lstat(rel); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Dev != rootDev {
					return fs.SkipDir
				}
			}
		}
		return nil
	})
}

// tarRootEntry writes one entry of an os.Root.
func tarRootEntry(tw *tar.Writer, r *os.Root, rel, name string) error {
	fi, err := r.Lstat(rel)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = r.Readlink(rel); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil // a socket: Docker skips it too
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	if !fi.Mode().IsRegular() {
		return tw.WriteHeader(hdr)
	}
	f, err := r.OpenFile(rel, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFileEntry(tw, hdr, f)
}

// writeFileEntry writes a regular file, no more than its header says
// (the container may still be writing to it).
func writeFileEntry(tw *tar.Writer, hdr *tar.Header, f *os.File) error {
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, io.LimitReader(f, hdr.Size))
	if err != nil {
		return err
	}
	if n < hdr.Size { // it shrank meanwhile: pad, the header is written
		_, err = io.CopyN(tw, zeroReader{}, hdr.Size-n)
	}
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// tarEntryAt writes the single entry base of parent (not followed).
func tarEntryAt(tw *tar.Writer, parent *os.File, base, name string) error {
	r, err := os.OpenRoot("/proc/self/fd/" + strconv.Itoa(int(parent.Fd())))
	if err != nil {
		return err
	}
	defer r.Close()
	return tarRootEntry(tw, r, base, name)
}

// CopyToContainer unpacks the tar r into directory dir of the container:
// docker cp in. The directory is resolved inside the container, and the
// archive is applied with the hardened layer code, relative to it: no
// entry and no symlink reaches outside.
func (e *Engine) CopyToContainer(ctx context.Context, idOrName, dir string, r io.Reader, opts CopyToOptions) error {
	c, root, release, err := e.containerRoot(idOrName)
	if err != nil {
		return err
	}
	defer release()
	if c.Host.ReadonlyRootfs {
		return requestError("container rootfs is marked read-only")
	}
	d, err := pathrs.OpenInRoot(root, path.Clean("/"+dir))
	if err != nil {
		return notFoundPath(c, dir, err)
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return requestError(fmt.Sprintf("extraction point is not a directory: %s", dir))
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rewriteCopyTar(r, pw, opts)) }()
	defer pr.Close()
	// The O_PATH descriptor's magic link reopens exactly the directory
	// resolved above, even if the container renames things meanwhile.
	target := filepath.Join("/proc/self/fd", strconv.Itoa(int(d.Fd())))
	if _, err := layer.Apply(ctx, target, pr, layer.ApplyOptions{Whiteouts: layer.WhiteoutDelete}); err != nil {
		return fmt.Errorf("copy to container %s: %w", c.Name, err)
	}
	return nil
}

// rewriteCopyTar passes the client's tar on: owners become root unless
// kept, and names the layer code would read as whiteouts are refused.
func rewriteCopyTar(r io.Reader, w io.Writer, opts CopyToOptions) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return requestError(fmt.Sprintf("invalid archive: %v", err))
		}
		if strings.HasPrefix(path.Base(hdr.Name), ".wh.") {
			return requestError(fmt.Sprintf("berth does not copy %s: names starting with .wh. are overlay whiteouts", hdr.Name))
		}
		if !opts.CopyUIDGID {
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// ExportContainer writes the container's file system as a tar: docker
// export.
func (e *Engine) ExportContainer(ctx context.Context, idOrName string, w io.Writer) error {
	_, root, release, err := e.containerRoot(idOrName)
	if err != nil {
		return err
	}
	defer release()
	d, err := pathrs.OpenInRoot(root, "/")
	if err != nil {
		return err
	}
	defer d.Close()
	fd, err := unix.Openat(int(d.Fd()), ".", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(fd), "rootfs")
	defer dir.Close()
	tw := tar.NewWriter(w)
	if err := tarTree(ctx, tw, "/proc/self/fd/"+strconv.Itoa(fd), ".", true); err != nil {
		return err
	}
	return tw.Close()
}
