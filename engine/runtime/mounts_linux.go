package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthkit/berth/internal/ovl"
	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// MaskedPaths are hidden from a default container, as Docker does: a file
// gets /dev/null mounted over it, a directory an empty read-only tmpfs.
var MaskedPaths = []string{
	"/proc/asound",
	"/proc/acpi",
	"/proc/interrupts",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
	"/sys/devices/system/cpu/cpu*/thermal_throttle",
}

// ReadonlyPaths are mounted read-only in a default container, as Docker does.
var ReadonlyPaths = []string{
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
}

// devices are the character devices of a container's /dev, all 0666 and
// owned by root, as runc makes them.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// devLinks are the symlinks of a container's /dev.
var devLinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	{"ptmx", "pts/ptmx"},
	{"core", "/proc/kcore"},
}

// InitLayer lists the mount points every container needs, as Docker's
// "-init" layer holds them: directories end in "/", "->" makes a symlink.
// WriteInitLayer creates them in a directory the caller puts above the
// image's layers, so that the mount points exist without the runtime
// creating them in the container's upper dir, where they would show up in
// diff and commit.
var InitLayer = []string{
	"dev/", "proc/", "sys/",
	"etc/", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab -> /proc/mounts",
}

// WriteInitLayer fills dir with InitLayer's entries.
func WriteInitLayer(dir string) error {
	for _, e := range InitLayer {
		name, target, isLink := strings.Cut(e, " -> ")
		p := filepath.Join(dir, name)
		var err error
		switch {
		case isLink:
			err = os.MkdirAll(filepath.Dir(p), 0o755)
			if err == nil {
				err = os.Symlink(target, p)
			}
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.MkdirAll(filepath.Dir(p), 0o755)
			if err == nil {
				var f *os.File
				f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
				if err == nil {
					err = f.Close()
				}
			}
		}
		if err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("init layer %s: %w", name, err)
		}
	}
	return nil
}

// mountTarget resolves dest inside root without ever leaving it (symlinks
// are followed as if root were /), and creates it as a directory, or as an
// empty file when isFile, if it is missing.
func mountTarget(root, dest string, isFile bool) (string, error) {
	p, err := securejoin.SecureJoin(root, dest)
	if err != nil {
		return "", fmt.Errorf("resolve mount target %s: %w", dest, err)
	}
	st, err := os.Lstat(p)
	switch {
	case err == nil:
		if st.IsDir() == isFile && st.Mode()&os.ModeSymlink == 0 {
			kind := map[bool]string{true: "a directory", false: "not a directory"}[st.IsDir()]
			return "", fmt.Errorf("mount target %s is %s", dest, kind)
		}
		return p, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	if isFile {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("create mount target %s: %w", dest, err)
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|unix.O_NOFOLLOW, 0o644)
		if err != nil {
			return "", fmt.Errorf("create mount target %s: %w", dest, err)
		}
		f.Close()
		return p, nil
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("create mount target %s: %w", dest, err)
	}
	return p, nil
}

func mount(source, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype+":"+source, target, err)
	}
	return nil
}

// mountRootfs mounts the root filesystem on spec.Root: the snapshot's
// overlay, or Root bound onto itself (pivot_root needs a mount point).
func mountRootfs(spec *Spec) error {
	if len(spec.RootfsMounts) == 0 {
		return mount(spec.Root, spec.Root, "bind", unix.MS_BIND|unix.MS_REC, "")
	}
	for _, m := range spec.RootfsMounts {
		if m.Dir != "" {
			// Overlay lower dirs are named relative to Dir, so that many
			// layers fit in one page of options. This process is ours alone:
			// changing its working directory is fine.
			if err := unix.Chdir(m.Dir); err != nil {
				return fmt.Errorf("chdir %s: %w", m.Dir, err)
			}
		}
		if err := mountRootfsPart(m, spec.Root); err != nil {
			return fmt.Errorf("root filesystem: %w", err)
		}
	}
	return unix.Chdir("/")
}

// mountRootfsPart mounts one of the root file system's mounts on root;
// an overlay through ovl.Mount, which retries without a volatile mark left
// by an earlier start and without the volatile option on a kernel that
// lacks it.
func mountRootfsPart(m Mount, root string) error {
	if m.Type != "overlay" {
		return mount(m.Source, root, m.Type, m.Flags, m.Data)
	}
	return ovl.Mount(m.Dir, m.Data, func(data string) error {
		return mount(m.Source, root, m.Type, m.Flags, data)
	})
}

// mountSystem makes /proc, /dev (a tmpfs with the usual devices and a
// devpts instance of its own), /dev/shm, /dev/mqueue and /sys inside root.
func mountSystem(root string, privileged bool) error {
	const common = unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV
	sysFlags := uintptr(common)
	if !privileged {
		sysFlags |= unix.MS_RDONLY
	}
	mounts := []struct {
		dest, fstype string
		flags        uintptr
		data         string
	}{
		{"/proc", "proc", common, ""},
		{"/dev", "tmpfs", unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k"},
		{"/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{"/dev/shm", "tmpfs", common, "mode=1777,size=65536k"},
		{"/dev/mqueue", "mqueue", common, ""},
		{"/sys", "sysfs", sysFlags, ""},
	}
	var dev string
	for _, m := range mounts {
		target, err := systemTarget(root, dev, m.dest)
		if err != nil {
			return err
		}
		err = mount(m.fstype, target, m.fstype, m.flags, m.data)
		if err != nil && m.fstype == "sysfs" && errors.Is(err, unix.EPERM) {
			// Root of a user namespace may mount sysfs only in a network
			// namespace it owns; with the host's network (rootless
			// mode), bind the host's /sys read-only, as rootless runc does.
			err = bindSys(target)
		}
		if err != nil {
			return err
		}
		if m.dest == "/dev" {
			dev = target
			if err := makeDevices(target); err != nil {
				return err
			}
		}
	}
	return nil
}

// systemTarget is the mount point of a system mount: resolved inside root
// (the image may hold anything there), except below /dev once dev, the
// fresh tmpfs this process just mounted there, is set: nothing in it can
// be a symlink, so a plain mkdir does, without a lookup per component.
func systemTarget(root, dev, dest string) (string, error) {
	name, ok := strings.CutPrefix(dest, "/dev/")
	if !ok || dev == "" {
		return mountTarget(root, dest, false)
	}
	target := filepath.Join(dev, name)
	if err := unix.Mkdir(target, 0o755); err != nil {
		return "", fmt.Errorf("create mount target %s: %w", dest, err)
	}
	return target, nil
}

// makeDevices fills a fresh /dev tmpfs.
func makeDevices(dev string) error {
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range devices {
		p := filepath.Join(dev, d.name)
		err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor)))
		if errors.Is(err, unix.EPERM) {
			// Root of a user namespace (rootless mode) may not make
			// devices: bind the host's, as rootless runc does.
			err = bindDevice("/dev/"+d.name, p)
		}
		if err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
	}
	for _, l := range devLinks {
		if err := os.Symlink(l[1], filepath.Join(dev, l[0])); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", l[0], err)
		}
	}
	return nil
}

// bindSys binds the host's /sys on target, read-only.
func bindSys(target string) error {
	if err := mount("/sys", target, "bind", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return remountReadonly(target)
}

// bindDevice binds the host's device node src on a new file dst.
func bindDevice(src, dst string) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return err
	}
	f.Close()
	return mount(src, dst, "bind", unix.MS_BIND, "")
}

// bindMounts makes the spec's extra mounts inside root.
func bindMounts(root string, mounts []Mount) error {
	for _, m := range mounts {
		if m.Type == "" || m.Type == "bind" {
			st, err := os.Stat(m.Source)
			if err != nil {
				return fmt.Errorf("bind mount source %s: %w", m.Source, err)
			}
			target, err := mountTarget(root, m.Destination, !st.IsDir())
			if err != nil {
				return err
			}
			if err := mount(m.Source, target, "bind", unix.MS_BIND|unix.MS_REC|m.Flags, ""); err != nil {
				return err
			}
			if m.ReadOnly {
				if err := remountReadonly(target); err != nil {
					return err
				}
			}
			continue
		}
		target, err := mountTarget(root, m.Destination, false)
		if err != nil {
			return err
		}
		if err := mount(m.Source, target, m.Type, m.Flags, m.Data); err != nil {
			return err
		}
	}
	return nil
}

// remountReadonly makes a bind mount read-only, keeping its other flags
// (a remount that dropped nosuid would be refused, or worse, obeyed).
func remountReadonly(target string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", target, err)
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	return mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, "")
}

// pivotRoot makes root the process's / and detaches the old root, the way
// runc does it without a temporary directory: pivot_root(".", ".") stacks
// the old root on top of the new one, and unmounting "." from the old
// root's side drops it.
func pivotRoot(root string) error {
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(oldroot)
	newroot, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(newroot)
	if err := unix.Fchdir(newroot); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return err
	}
	// Stop the detach from propagating to the host's mounts.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root a slave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return unix.Chdir("/")
}

// maskPaths hides MaskedPaths and makes ReadonlyPaths read-only; it runs
// after pivot_root, so the paths are the container's. A path the kernel
// does not have is skipped.
func maskPaths() error {
	for _, pattern := range MaskedPaths {
		paths := []string{pattern}
		if strings.ContainsAny(pattern, "*?[") {
			paths = globDirents(pattern)
		}
		for _, p := range paths {
			if err := maskPath(p); err != nil {
				return fmt.Errorf("mask %s: %w", p, err)
			}
		}
	}
	for _, p := range ReadonlyPaths {
		err := unix.Mount(p, p, "bind", unix.MS_BIND|unix.MS_REC, "")
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mount bind:%s on %s: %w", p, p, err)
		}
		if err := remountReadonly(p); err != nil {
			return err
		}
	}
	return nil
}

// maskPath hides p: /dev/null over a file, an empty read-only tmpfs over a
// directory. One stat says which, and whether p exists at all: guessing
// costs more. A bind of a file on a directory fails only after the kernel
// has cloned the mount, and dropping that clone waits for an RCU grace
// period (synchronize_rcu_expedited in namespace_unlock): 0.1 to several
// ms of wall clock on a VM for each of /proc/acpi and /sys/firmware. The
// stat's walk leaves the dentries cached, so the mount's own lookup is
// cheap. Should p change kind in between, the other mount is tried.
func maskPath(p string) error {
	var st unix.Stat_t
	err := unix.Stat(p, &st)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // absent on this kernel, or a file on the way (a pattern's match)
	}
	// Should the stat fail otherwise, the mounts decide, as they did
	// before there was a stat.
	isDir := err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
	err = maskMount(p, isDir)
	if errors.Is(err, unix.ENOTDIR) {
		err = maskMount(p, !isDir)
	}
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // gone since the stat
	}
	return err
}

// maskMount mounts the empty read-only tmpfs (dir) or /dev/null on p.
func maskMount(p string, dir bool) error {
	if dir {
		return unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0")
	}
	return unix.Mount("/dev/null", p, "bind", unix.MS_BIND, "")
}

// globDirents expands a pattern whose one wildcard component is the last
// but any number of plain ones ("/sys/devices/system/cpu/cpu*/thermal_throttle")
// from a single directory listing, without the lstat of every match that
// filepath.Glob makes: the candidates that do not exist are skipped by
// maskPath. Other patterns go to filepath.Glob.
func globDirents(pattern string) []string {
	elems := strings.Split(pattern, "/")
	i := 0
	for i < len(elems) && !strings.ContainsAny(elems[i], "*?[") {
		i++
	}
	rest := strings.Join(elems[min(i+1, len(elems)):], "/")
	if i == len(elems) || !filepath.IsAbs(pattern) || strings.ContainsAny(rest, "*?[") {
		paths, _ := filepath.Glob(pattern)
		return paths
	}
	parent := "/" + strings.Join(elems[:i], "/")
	names, err := readDirNames(parent)
	if err != nil {
		return nil
	}
	var paths []string
	for _, name := range names {
		if ok, _ := filepath.Match(elems[i], name); ok {
			paths = append(paths, filepath.Join(parent, name, rest))
		}
	}
	return paths
}

// readDirNames lists dir with getdents, outside Go's poller (os.Open of a
// directory sets that up on first use: an epoll instance the init never
// needs).
func readDirNames(dir string) ([]string, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
