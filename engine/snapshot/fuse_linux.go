package snapshot

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// FuseType is the Mount type of a snapshot that fuse-overlayfs mounts: in
// rootless mode, where the kernel refuses overlayfs in a user namespace
// (Linux before 5.11), or when BERTH_OVERLAY=fuse-overlayfs asks for it.
const FuseType = "fuse-overlayfs"

// useFuse decides once per process whether rootless snapshots need
// fuse-overlayfs, by trying a kernel overlay mount in a scratch directory.
var useFuse = sync.OnceValue(func() bool {
	if os.Getenv("BERTH_OVERLAY") == FuseType {
		return true
	}
	if !inUserNS() {
		return false
	}
	return !kernelOverlayWorks()
})

func kernelOverlayWorks() bool {
	dir, err := os.MkdirTemp("", "berth-overlay-probe-")
	if err != nil {
		return true // cannot tell: let the real mount say why
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			return true
		}
	}
	data := fmt.Sprintf("lowerdir=%s/l,upperdir=%s/u,workdir=%s/w,userxattr", dir, dir, dir)
	if err := unix.Mount("overlay", filepath.Join(dir, "m"), "overlay", 0, data); err != nil {
		return false
	}
	_ = unix.Unmount(filepath.Join(dir, "m"), unix.MNT_DETACH)
	return true
}

// ErrNoFuseOverlayfs says the kernel refuses overlayfs here and
// fuse-overlayfs is not installed.
var ErrNoFuseOverlayfs = errors.New("the kernel refuses overlayfs in a user namespace (Linux 5.11 or later allows it) and fuse-overlayfs is not installed: apt-get install fuse-overlayfs")

// FuseMount mounts m with fuse-overlayfs on target; relative lower dirs
// are resolved against m.Dir. fuse-overlayfs serves the mount until it is
// unmounted.
func FuseMount(m Mount, target string) error {
	bin, err := exec.LookPath(FuseType)
	if err != nil {
		for _, p := range []string{"/usr/bin/fuse-overlayfs", "/usr/local/bin/fuse-overlayfs"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		return ErrNoFuseOverlayfs
	}
	var opts []string
	for _, o := range m.Options {
		if o != "userxattr" && o != "index=off" {
			opts = append(opts, o)
		}
	}
	cmd := exec.Command(bin, "-o", strings.Join(opts, ","), target)
	cmd.Dir = m.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("fuse-overlayfs on %s: %v: %s", target, err, strings.TrimSpace(string(out)))
	}
	return nil
}
