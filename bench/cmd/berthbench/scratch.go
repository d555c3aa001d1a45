//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// On ext4 without a journal the kernel checks every inode it is about to
// allocate against the time it was deleted (recently_deleted: 5 s, plus 300
// s while its inode table block is dirty), scanning from the start of the
// block group, so file creation after a case deleted a store is slow for
// minutes and each case depends on the one before. Every real host formats
// ext4 with a journal; when BENCH_DIR's file system has none, the bench puts
// its stores on a journaled ext4 scratch file system: a sparse image beside
// BENCH_DIR, loop-mounted on it, unmounted and deleted at the end.
const (
	// scratchSize is the image's apparent size: sparse, it takes on the
	// host only what the run writes.
	scratchSize = 32 << 30
	// scratchBytesPerInode gives 4 Mi inodes on 32 GiB: BENCH_BIG's commit
	// of 1,000,000 new files holds about 2 M at once (the container's upper
	// directory and the committed layer).
	scratchBytesPerInode = 8192
	// scratchNeed is the free space the host must have for the image to grow
	// into: a full run with BENCH_BIG peaks at a few GiB; the rest is margin,
	// since a host that fills up under a loop image fails its writes.
	scratchNeed = 16 << 30
	// scratchLabel marks an image as the bench's, so that down deletes
	// only its own.
	scratchLabel = "berthbench"
)

// scratch is the scratch file system of one bench directory.
type scratch struct {
	dir   string // BENCH_DIR, absolute
	image string // dir + ".img"
	size  int64
	need  uint64
	log   io.Writer
	probe fsProbe
	// run runs mkfs.ext4 and mount.
	run func(argv ...string) error
}

func newScratch(dir string, log io.Writer) (*scratch, error) {
	abs, err := resolvedDir(dir)
	if err != nil {
		return nil, err
	}
	return &scratch{dir: abs, image: abs + ".img", size: scratchSize, need: scratchNeed, log: log, probe: hostProbe,
		run: func(argv ...string) error {
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s: %w%s", strings.Join(argv, " "), err, lastLines(string(out), 3))
			}
			return nil
		}}, nil
}

func (s *scratch) logf(format string, args ...any) { fmt.Fprintf(s.log, format+"\n", args...) }

// resolvedDir is dir made absolute, its parent's symbolic links resolved,
// as mountinfo and a loop device's backing_file name it.
func resolvedDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if parent, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(parent, filepath.Base(abs))
	}
	return abs, nil
}

// Values of BENCH_FS.
const (
	fsAuto    = "auto"    // a scratch file system when BENCH_DIR's is ext4 without a journal
	fsHost    = "host"    // the host's file system, whatever it is
	fsScratch = "scratch" // a scratch file system in any case
)

// up mounts the scratch file system on the bench directory when mode asks
// for it; on the host's disk it says why the stores stay there.
func (s *scratch) up(mode string) error {
	if mode == "" {
		mode = fsAuto
	}
	if mode != fsAuto && mode != fsHost && mode != fsScratch {
		return fmt.Errorf("BENCH_FS=%s: want auto (the default), host or scratch", mode)
	}
	// What a killed run left first, so detection sees the host's disk.
	if err := s.down(); err != nil {
		return err
	}
	info, err := s.hostFS()
	switch {
	case mode == fsHost:
		s.logf("bench: BENCH_FS=host: the stores stay on %s", describeOr(info, err))
		return nil
	case err != nil && mode == fsAuto:
		s.logf("bench: %v; the stores stay on the host's disk", err)
		return nil
	case mode == fsAuto && !info.noJournalExt4():
		s.logf("bench: the stores stay on %s (%s)", info.describe(), info.MountPoint)
		return nil
	}
	if err := s.mount(); err != nil {
		if derr := s.down(); derr != nil {
			err = fmt.Errorf("%w; and cleaning up: %v", err, derr)
		}
		return err
	}
	s.logf("bench: the stores are on a journaled ext4 scratch file system: %s (%d GiB, sparse) mounted on %s, instead of %s",
		s.image, s.size>>30, s.dir, describeOr(info, err))
	return nil
}

// hostFS is the file system the bench directory would be on.
func (s *scratch) hostFS() (fsInfo, error) {
	dir, err := nearestExisting(s.dir)
	if err != nil {
		return fsInfo{}, fmt.Errorf("cannot tell what file system %s is on: %w", s.dir, err)
	}
	info, err := s.probe.detect(dir)
	if err != nil {
		return info, fmt.Errorf("cannot tell what file system %s is on: %w", s.dir, err)
	}
	return info, nil
}

func describeOr(info fsInfo, err error) string {
	if err != nil || info.Type == "" {
		return "the host's disk"
	}
	return info.describe()
}

// mount checks the room, makes the image and mounts it on the bench
// directory, which it empties first (what `berthbench prepare` left there
// would be hidden under the mount and come back afterwards).
func (s *scratch) mount() error {
	if _, err := os.Lstat(s.image); err == nil {
		return fmt.Errorf("%s exists and is not the bench's scratch image: move it away, or set BENCH_DIR elsewhere", s.image)
	}
	parent := filepath.Dir(s.image)
	var st unix.Statfs_t
	if err := unix.Statfs(parent, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", parent, err)
	}
	if free := st.Bavail * uint64(st.Bsize); free < s.need {
		return fmt.Errorf("%s has %.1f GiB free; the scratch image %s grows with what the run writes and needs %d GiB: free some space, set BENCH_DIR to a larger disk, or BENCH_FS=host to keep the stores on the host's disk",
			parent, float64(free)/(1<<30), s.image, s.need>>30)
	}
	if err := unmountUnder([]string{s.dir}, ""); err != nil {
		return err
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("empty %s before mounting on it: %w", s.dir, err)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(s.image, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(s.size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("make %s: %w", s.image, err)
	}
	// -m 0: no blocks reserved for root, the bench is root.
	if err := s.run("mkfs.ext4", "-q", "-F", "-L", scratchLabel, "-m", "0", "-i", fmt.Sprint(scratchBytesPerInode), s.image); err != nil {
		return err
	}
	if err := s.run("mount", "-o", "loop", s.image, s.dir); err != nil {
		return err
	}
	s.directIO()
	return nil
}

// directIO switches the scratch's loop device to direct I/O, so that what
// the scratch file system writes back goes to the disk instead of into the
// host's page cache as dirty pages of the image file. Without it, an fsync
// or syncfs in one case (a pull's final syncfs) flushes on the host
// everything the cases before it wrote, and its time depends on them: the
// room case measured 1.7 s alone and 4.6 s after the other cases. A kernel
// or file system that refuses direct I/O leaves the device as it is, said.
func (s *scratch) directIO() {
	dev := s.loopDevice()
	if dev == "" {
		return
	}
	if err := s.run("losetup", "--direct-io=on", dev); err != nil {
		s.logf("bench: %s keeps buffered I/O (%v): fsyncs may depend on what earlier cases wrote", dev, err)
		return
	}
	if !s.loopDirectIO() {
		s.logf("bench: %s keeps buffered I/O (the kernel did not switch it to direct I/O): fsyncs may depend on what earlier cases wrote", dev)
	}
}

// loopDirectIO says whether the loop device the scratch is mounted from
// does direct I/O.
func (s *scratch) loopDirectIO() bool {
	dev := s.loopDevice()
	if dev == "" {
		return false
	}
	dio, err := s.probe.readFile("/sys/block/" + strings.TrimPrefix(dev, "/dev/") + "/loop/dio")
	return err == nil && strings.TrimSpace(string(dio)) == "1"
}

// down unmounts the scratch file system (and everything mounted under it)
// and deletes its image; it does nothing when there is none. It never
// deletes an image that is not the bench's (see scratchLabel).
func (s *scratch) down() error {
	for s.mounted() {
		if err := unmountUnder([]string{s.dir}, s.dir); err != nil {
			return err
		}
		if err := unix.Unmount(s.dir, 0); err != nil {
			// Busy (a process left in it): detach now; the loop device
			// goes when the last user does.
			if err := unix.Unmount(s.dir, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount the scratch file system at %s: %w", s.dir, err)
			}
			s.logf("bench: %s was busy: detached; its loop device goes with the last process using it", s.dir)
		}
	}
	st, err := os.Stat(s.image)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isScratchImage(s.image) {
		return nil
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys != nil {
		s.logf("bench: the scratch image held %.2f GiB on the host at the end; deleting it", float64(sys.Blocks*512)/(1<<30))
	}
	if err := os.Remove(s.image); err != nil {
		return fmt.Errorf("delete the scratch image: %w", err)
	}
	_ = os.Remove(s.dir) // the mount point, when empty
	return nil
}

// mounted says whether the bench directory is a mount of the scratch image.
func (s *scratch) mounted() bool { return s.loopDevice() != "" }

// loopDevice is the loop device ("/dev/loop3") through which the scratch
// image is mounted on the bench directory itself, "" when it is not.
func (s *scratch) loopDevice() string {
	mi, err := s.probe.readFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	info, _, err := mountOf(strings.NewReader(string(mi)), s.dir)
	if err != nil || info.MountPoint != s.dir || loopBacking(s.probe, info.Source) != s.image {
		return ""
	}
	return info.Source
}

// loopBacking returns the file behind a loop device ("/dev/loop3"), "" for
// any other source.
func loopBacking(p fsProbe, source string) string {
	name := strings.TrimPrefix(source, "/dev/")
	if !strings.HasPrefix(name, "loop") || strings.Contains(name, "/") {
		return ""
	}
	data, err := p.readFile("/sys/block/" + name + "/loop/backing_file")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// isScratchImage says whether path is an ext4 image labelled scratchLabel.
func isScratchImage(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sb := make([]byte, 136)
	if _, err := f.ReadAt(sb, 1024); err != nil {
		return false
	}
	return ext4Label(sb) == scratchLabel
}

// ext4Label reads the volume label from the start of an ext4 superblock,
// "" when it is not one (magic 0xEF53 at 0x38, the label at 0x78).
func ext4Label(sb []byte) string {
	if len(sb) < 0x88 || sb[0x38] != 0x53 || sb[0x39] != 0xEF {
		return ""
	}
	return strings.TrimRight(string(sb[0x78:0x88]), "\x00")
}

// storesFS describes, for the report, what file system the stores were on
// and why.
func storesFS(dir string) (disk, why string) {
	s, err := newScratch(dir, io.Discard)
	if err != nil {
		return diskOf(dir), ""
	}
	if s.mounted() {
		io := "buffered I/O"
		if s.loopDirectIO() {
			io = "direct I/O"
		}
		return fmt.Sprintf("a journaled ext4 scratch file system (%s, 32 GiB sparse, loop-mounted with %s on %s) on %s", s.image, io, s.dir, diskOf(filepath.Dir(s.dir))),
			"the host's file system is ext4 without a journal: there the kernel's recently_deleted check makes creating files after deleting others slow for minutes, so each case would depend on the ones before; real hosts format ext4 with a journal; BENCH_FS=host keeps the host's disk"
	}
	info, err := s.hostFS()
	switch {
	case err != nil:
		return diskOf(dir), err.Error()
	case !info.noJournalExt4():
		return info.describe(), ""
	case os.Getenv("BENCH_FS") == fsHost:
		return info.describe(), "BENCH_FS=host kept the host's disk: ext4 without a journal makes file creation after deletions slow for minutes, so figures depend on the cases before"
	default:
		return info.describe(), "no scratch file system was mounted (scripts/bench.sh mounts one): ext4 without a journal makes file creation after deletions slow for minutes, so figures depend on the cases before"
	}
}

// runScratch is `berthbench scratch up|down`, which scripts/bench.sh runs
// around everything else (down from its EXIT trap).
func runScratch(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("berthbench scratch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", envOr("BENCH_DIR", "/var/tmp/berth-bench"), "bench directory (env BENCH_DIR)")
	mode := fs.String("fs", os.Getenv("BENCH_FS"), "auto (default): a scratch file system when the bench directory's is ext4 without a journal; host: never; scratch: always (env BENCH_FS)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "up" && fs.Arg(0) != "down") {
		fmt.Fprintln(stderr, "usage: berthbench scratch [-dir DIR] [-fs auto|host|scratch] up|down")
		return 2
	}
	s, err := newScratch(*dir, stderr)
	if err == nil && os.Geteuid() != 0 {
		err = errors.New("mounting a scratch file system needs root")
	}
	if err == nil {
		if fs.Arg(0) == "up" {
			err = s.up(*mode)
		} else {
			err = s.down()
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "berthbench: scratch "+fs.Arg(0)+":", err)
		return 1
	}
	return 0
}

// clean is `berthbench clean`: what Reset removes, and the scratch file
// system with its image.
func (e *Env) clean() error {
	if err := e.Reset(); err != nil {
		return err
	}
	s, err := newScratch(e.Dir, e.Log)
	if err != nil {
		return err
	}
	return s.down()
}
