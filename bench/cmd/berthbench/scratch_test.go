//go:build linux

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
)

// testScratch is a small scratch file system on a temporary directory.
func testScratch(t *testing.T) (*scratch, *strings.Builder) {
	t.Helper()
	var log strings.Builder
	s, err := newScratch(filepath.Join(t.TempDir(), "bench"), &log)
	if err != nil {
		t.Fatal(err)
	}
	s.size, s.need = 64<<20, 1<<20
	return s, &log
}

// requireLoop skips (fails under CI) without root, mkfs.ext4 or a loop device.
func requireLoop(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 is not installed (e2fsprogs)")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no loop devices here")
	}
}

// loopsOf lists the loop devices whose backing file is image.
func loopsOf(t *testing.T, image string) []string {
	t.Helper()
	out, err := exec.Command("losetup", "-j", image).Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
}

func TestScratchUpMountsAndDownLeavesNothing(t *testing.T) {
	requireLoop(t)
	s, log := testScratch(t)
	t.Cleanup(func() { _ = s.down() })
	if err := s.up(fsScratch); err != nil {
		t.Fatal(err)
	}
	if !s.mounted() || !isMountPoint(s.dir) {
		t.Fatalf("after up, %s is not the scratch mount:\n%s", s.dir, log)
	}
	info, err := hostProbe.detect(s.dir)
	if err != nil || info.Type != "ext4" || !info.Journal {
		t.Fatalf("the scratch file system is %+v (%v), want ext4 with a journal", info, err)
	}
	disk, why := storesFS(s.dir)
	if !strings.Contains(disk, "journaled ext4 scratch file system ("+s.image) || !strings.Contains(why, "without a journal") {
		t.Errorf("the report's description: %q, %q", disk, why)
	}
	// Its loop device writes back with direct I/O, so an fsync does not
	// flush on the host what earlier cases wrote; the report says which.
	if !s.loopDirectIO() || !strings.Contains(disk, "with direct I/O") {
		t.Errorf("the scratch's loop device does not do direct I/O (report: %q):\n%s", disk, log)
	}
	// The run's Reset empties the mount point and leaves it mounted; a
	// mount under it goes.
	e := &Env{Dir: s.dir, RunDir: filepath.Join(t.TempDir(), "run"), tools: map[string]string{}}
	if err := writeFiles(s.dir, map[string]string{"berth/blobs/a": "x", "podman/overlay/.keep": ""}); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(s.dir, "podman/overlay")
	if err := exec.Command("mount", "-t", "tmpfs", "tmpfs", inner).Run(); err != nil {
		t.Fatal(err)
	}
	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(s.dir); len(entries) != 0 || !s.mounted() {
		t.Errorf("after Reset: %d entries left, mounted %v; want an empty, still mounted scratch", len(entries), s.mounted())
	}
	// Down with a mount still under it (a killed run's container).
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("mount", "-t", "tmpfs", "tmpfs", inner).Run(); err != nil {
		t.Fatal(err)
	}
	if err := s.down(); err != nil {
		t.Fatal(err)
	}
	if s.mounted() || isMountPoint(s.dir) || isMountPoint(inner) {
		t.Error("something is still mounted after down")
	}
	if _, err := os.Stat(s.image); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the image is still there: %v", err)
	}
	if loops := loopsOf(t, s.image); len(loops) != 0 {
		t.Errorf("loop devices left: %v", loops)
	}
	if !strings.Contains(log.String(), "held") {
		t.Errorf("down did not say what the image held:\n%s", log)
	}
	// Down again: nothing to do.
	if err := s.down(); err != nil {
		t.Errorf("a second down: %v", err)
	}
}

// A failure between making the image and mounting it leaves no image.
func TestScratchUpFailureCleansUp(t *testing.T) {
	testenv.RequireRoot(t)
	s, _ := testScratch(t)
	var ran []string
	s.run = func(argv ...string) error {
		ran = append(ran, argv[0])
		if argv[0] == "mount" {
			return errors.New("mount: no loop device")
		}
		return nil
	}
	// A label on the image, as mkfs would write it, so down knows it.
	realRun := s.run
	s.run = func(argv ...string) error {
		if argv[0] == "mkfs.ext4" {
			writeLabel(t, argv[len(argv)-1])
		}
		return realRun(argv...)
	}
	err := s.up(fsScratch)
	if err == nil || !strings.Contains(err.Error(), "no loop device") {
		t.Fatalf("up = %v, want the mount's error", err)
	}
	if strings.Join(ran, " ") != "mkfs.ext4 mount" {
		t.Errorf("ran %q", ran)
	}
	if _, err := os.Stat(s.image); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed up left its image: %v", err)
	}
}

// writeLabel writes an ext4 superblock's magic and the bench's label.
func writeLabel(t *testing.T, image string) {
	t.Helper()
	f, err := os.OpenFile(image, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sb := make([]byte, 136)
	sb[0x38], sb[0x39] = 0x53, 0xEF
	copy(sb[0x78:], scratchLabel)
	if _, err := f.WriteAt(sb, 1024); err != nil {
		t.Fatal(err)
	}
}

func TestScratchRefusals(t *testing.T) {
	testenv.RequireRoot(t)
	s, log := testScratch(t)
	s.run = func(argv ...string) error { t.Errorf("ran %v", argv); return nil }

	if err := s.up("tmpfs"); err == nil || !strings.Contains(err.Error(), "BENCH_FS=tmpfs: want auto (the default), host or scratch") {
		t.Errorf("an unknown BENCH_FS: %v", err)
	}
	// BENCH_FS=host: nothing made, and the log says where the stores are.
	if err := s.up(fsHost); err != nil || !strings.Contains(log.String(), "BENCH_FS=host: the stores stay on") {
		t.Errorf("BENCH_FS=host: %v\n%s", err, log)
	}
	// Not enough room: refused with what to do, nothing made.
	s.need = 1 << 62
	if err := s.up(fsScratch); err == nil || !strings.Contains(err.Error(), "GiB free") || !strings.Contains(err.Error(), "BENCH_FS=host") {
		t.Errorf("no room: %v", err)
	}
	if _, err := os.Stat(s.image); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused up made %s", s.image)
	}
	// Someone else's file where the image would go: refused, never deleted.
	s.need = 1 << 20
	if err := os.WriteFile(s.image, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.up(fsScratch); err == nil || !strings.Contains(err.Error(), "is not the bench's scratch image") {
		t.Errorf("a foreign image: %v", err)
	}
	if err := s.down(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(s.image); err != nil || string(data) != "not ours" {
		t.Errorf("down touched a file that is not the bench's: %q, %v", data, err)
	}
}

// Auto mode keeps the disk when detection fails or finds a journal.
func TestScratchAutoKeepsTheHostDisk(t *testing.T) {
	testenv.RequireRoot(t)
	s, log := testScratch(t)
	s.run = func(argv ...string) error { t.Errorf("ran %v", argv); return nil }
	s.probe = fakeProbe(map[string]string{"/proc/self/mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n",
		"/sys/dev/block/254:0/uevent": "DEVNAME=vda\n"}, nil)
	if err := s.up(fsAuto); err != nil || !strings.Contains(log.String(), "cannot tell whether it has a journal") ||
		!strings.Contains(log.String(), "the stores stay on the host's disk") {
		t.Errorf("detection failed: %v\n%s", err, log)
	}
	log.Reset()
	s.probe = fakeProbe(map[string]string{"/proc/self/mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n",
		"/sys/dev/block/254:0/uevent": "DEVNAME=vda\n", "/sys/fs/ext4/vda/journal_task": "42\n"}, nil)
	if err := s.up(""); err != nil || !strings.Contains(log.String(), "the stores stay on ext4 with a journal on /dev/vda") {
		t.Errorf("a journaled disk: %v\n%s", err, log)
	}
	log.Reset()
	s.probe = fakeProbe(map[string]string{"/proc/self/mountinfo": "27 1 0:30 / / rw - xfs /dev/sdb rw\n"}, nil)
	if err := s.up(""); err != nil || !strings.Contains(log.String(), "the stores stay on xfs on /dev/sdb") {
		t.Errorf("xfs: %v\n%s", err, log)
	}
}
