//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// fsInfo is the file system a directory is on.
type fsInfo struct {
	MountPoint string // where it is mounted
	Type       string // "ext4", "xfs", "tmpfs", ...
	Source     string // mountinfo's source ("/dev/vda")
	Dev        string // the kernel's name of the block device ("vda", "loop4"), "" when none
	// Journal is meaningful for ext4 only: whether it has one.
	Journal bool
}

// noJournalExt4 says whether the stores on this file system would pay
// ext4's recently_deleted check: ext4 without a journal.
func (f fsInfo) noJournalExt4() bool { return f.Type == "ext4" && !f.Journal }

// describe names the file system: "ext4 without a journal on /dev/vda".
func (f fsInfo) describe() string {
	switch {
	case f.Type != "ext4":
		return fmt.Sprintf("%s on %s", f.Type, f.Source)
	case f.Journal:
		return "ext4 with a journal on " + f.Source
	default:
		return "ext4 without a journal on " + f.Source
	}
}

// fsProbe reads what detection needs; tests give it sample text.
type fsProbe struct {
	readFile func(path string) ([]byte, error)
	// dumpe2fs returns `dumpe2fs -h DEV`'s output.
	dumpe2fs func(dev string) (string, error)
}

// hostProbe reads the running system.
var hostProbe = fsProbe{
	readFile: os.ReadFile,
	dumpe2fs: func(dev string) (string, error) {
		out, err := exec.Command("dumpe2fs", "-h", dev).Output()
		if err != nil {
			return "", fmt.Errorf("dumpe2fs -h %s: %w", dev, err)
		}
		return string(out), nil
	},
}

// nearestExisting returns dir, or its nearest parent that exists, with
// symbolic links resolved: the directory a store made at dir would be on.
func nearestExisting(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(dir); err == nil {
			return filepath.EvalSymlinks(dir)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no existing parent of %s", dir)
		}
		dir = parent
	}
}

// detect finds the file system dir (an existing, resolved path) is on and,
// for ext4, whether it has a journal.
func (p fsProbe) detect(dir string) (fsInfo, error) {
	mi, err := p.readFile("/proc/self/mountinfo")
	if err != nil {
		return fsInfo{}, fmt.Errorf("read mountinfo: %w", err)
	}
	info, devNum, err := mountOf(strings.NewReader(string(mi)), dir)
	if err != nil {
		return fsInfo{}, err
	}
	if info.Type != "ext4" {
		return info, nil
	}
	// The kernel's name of the device: mountinfo's source may be a name
	// that does not exist as a node (/dev/root).
	if uevent, err := p.readFile("/sys/dev/block/" + devNum + "/uevent"); err == nil {
		info.Dev = ueventName(string(uevent))
	}
	if info.Dev == "" {
		info.Dev = strings.TrimPrefix(info.Source, "/dev/")
	}
	// ext4 shows its journal thread's PID, or "<none>" without a journal;
	// dumpe2fs (which needs to open the device) when that file is missing.
	if task, err := p.readFile("/sys/fs/ext4/" + info.Dev + "/journal_task"); err == nil {
		info.Journal, err = parseJournalTask(string(task))
		return info, err
	}
	out, err := p.dumpe2fs("/dev/" + info.Dev)
	if err != nil {
		return info, fmt.Errorf("ext4 on %s: cannot tell whether it has a journal: %w", info.Source, err)
	}
	info.Journal, err = hasJournalFeature(out)
	return info, err
}

// mountOf returns the mount whose point is the longest prefix of dir, and
// its device number ("254:0").
func mountOf(r io.Reader, dir string) (fsInfo, string, error) {
	var best fsInfo
	var devNum string
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 5 || sep+2 >= len(fields) {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if !under(dir, mp) {
			continue
		}
		// Later lines are mounted over earlier ones at the same point.
		if !found || len(mp) >= len(best.MountPoint) {
			best = fsInfo{MountPoint: mp, Type: fields[sep+1], Source: unescapeMountinfo(fields[sep+2])}
			devNum, found = fields[2], true
		}
	}
	if err := sc.Err(); err != nil {
		return fsInfo{}, "", fmt.Errorf("read mountinfo: %w", err)
	}
	if !found {
		return fsInfo{}, "", fmt.Errorf("no mount holds %s", dir)
	}
	return best, devNum, nil
}

// under says whether path is dir or inside it.
func under(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// ueventName reads DEVNAME= from a /sys/dev/block/M:m/uevent file.
func ueventName(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(l, "DEVNAME="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseJournalTask reads /sys/fs/ext4/DEV/journal_task: a PID, or
// "<none>" when the file system has no journal.
func parseJournalTask(s string) (bool, error) {
	s = strings.TrimSpace(s)
	if s == "<none>" {
		return false, nil
	}
	if s != "" && strings.Trim(s, "0123456789") == "" {
		return true, nil
	}
	return false, fmt.Errorf("journal_task reads %q: neither a PID nor <none>", s)
}

// hasJournalFeature reads `dumpe2fs -h`'s "Filesystem features:" line.
func hasJournalFeature(out string) (bool, error) {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Filesystem features:"); ok {
			for _, f := range strings.Fields(v) {
				if f == "has_journal" {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return false, errors.New("dumpe2fs printed no \"Filesystem features:\" line")
}
