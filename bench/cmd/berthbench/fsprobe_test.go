//go:build linux

package main

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// The VM's root: ext4 on /dev/vda without a journal, a journaled loop
// image on /var/tmp/berth-bench, a tmpfs, and a mount point with a space.
const sampleMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 0:40 / /tmp/space\040dir rw - tmpfs tmpfs rw
41 27 7:4 / /var/tmp/berth-bench rw,relatime - ext4 /dev/loop4 rw
42 27 8:1 / /srv rw - xfs /dev/sdb1 rw
43 27 254:0 / /var/lib/root-alias rw - ext4 /dev/root rw
`

// fakeProbe serves files from a map; dumpe2fs answers from another.
func fakeProbe(files map[string]string, dumpe2fs map[string]string) fsProbe {
	return fsProbe{
		readFile: func(p string) ([]byte, error) {
			if s, ok := files[p]; ok {
				return []byte(s), nil
			}
			return nil, fs.ErrNotExist
		},
		dumpe2fs: func(dev string) (string, error) {
			if s, ok := dumpe2fs[dev]; ok {
				return s, nil
			}
			return "", errors.New("dumpe2fs: Operation not permitted while trying to open " + dev)
		},
	}
}

const (
	dumpe2fsNoJournal = "dumpe2fs 1.47.0 (5-Feb-2023)\nFilesystem volume name:   <none>\nFilesystem features:      ext_attr resize_inode dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum\nInode count:              16777216\n"
	dumpe2fsJournal   = "Filesystem volume name:   berthbench\nFilesystem features:      has_journal ext_attr resize_inode dir_index filetype extent 64bit\nJournal size:             256M\n"
)

func TestDetectFileSystem(t *testing.T) {
	base := map[string]string{
		"/proc/self/mountinfo":            sampleMountinfo,
		"/sys/dev/block/254:0/uevent":     "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n",
		"/sys/dev/block/7:4/uevent":       "MAJOR=7\nMINOR=4\nDEVNAME=loop4\nDEVTYPE=disk\n",
		"/sys/fs/ext4/vda/journal_task":   "<none>\n",
		"/sys/fs/ext4/loop4/journal_task": "13249\n",
	}
	for _, tc := range []struct {
		name, dir string
		files     map[string]string // changes to base ("" deletes)
		dumpe2fs  map[string]string
		want      fsInfo
		wantErr   string
	}{
		{name: "ext4 without a journal (journal_task)", dir: "/var/tmp",
			want: fsInfo{MountPoint: "/", Type: "ext4", Source: "/dev/vda", Dev: "vda"}},
		{name: "the journaled scratch image", dir: "/var/tmp/berth-bench/berth",
			want: fsInfo{MountPoint: "/var/tmp/berth-bench", Type: "ext4", Source: "/dev/loop4", Dev: "loop4", Journal: true}},
		{name: "a sibling with the same prefix is not under the mount", dir: "/var/tmp/berth-bench-curves",
			want: fsInfo{MountPoint: "/", Type: "ext4", Source: "/dev/vda", Dev: "vda"}},
		{name: "not ext4: xfs", dir: "/srv/x", want: fsInfo{MountPoint: "/srv", Type: "xfs", Source: "/dev/sdb1"}},
		{name: "not ext4: tmpfs, escaped mount point", dir: "/tmp/space dir/a", want: fsInfo{MountPoint: "/tmp/space dir", Type: "tmpfs", Source: "tmpfs"}},
		{name: "no journal_task: dumpe2fs, no has_journal", dir: "/var/tmp",
			files: map[string]string{"/sys/fs/ext4/vda/journal_task": ""}, dumpe2fs: map[string]string{"/dev/vda": dumpe2fsNoJournal},
			want: fsInfo{MountPoint: "/", Type: "ext4", Source: "/dev/vda", Dev: "vda"}},
		{name: "no journal_task: dumpe2fs, has_journal", dir: "/var/tmp",
			files: map[string]string{"/sys/fs/ext4/vda/journal_task": ""}, dumpe2fs: map[string]string{"/dev/vda": dumpe2fsJournal},
			want: fsInfo{MountPoint: "/", Type: "ext4", Source: "/dev/vda", Dev: "vda", Journal: true}},
		{name: "/dev/root is found by its device number", dir: "/var/lib/root-alias",
			want: fsInfo{MountPoint: "/var/lib/root-alias", Type: "ext4", Source: "/dev/root", Dev: "vda"}},
		{name: "no way to tell: an error, not a guess", dir: "/var/tmp",
			files:   map[string]string{"/sys/fs/ext4/vda/journal_task": ""},
			wantErr: "cannot tell whether it has a journal: dumpe2fs: Operation not permitted"},
		{name: "dumpe2fs without a features line", dir: "/var/tmp",
			files: map[string]string{"/sys/fs/ext4/vda/journal_task": ""}, dumpe2fs: map[string]string{"/dev/vda": "garbage\n"},
			wantErr: "no \"Filesystem features:\" line"},
		{name: "journal_task unreadable text", dir: "/var/tmp",
			files: map[string]string{"/sys/fs/ext4/vda/journal_task": "what\n"}, wantErr: "neither a PID nor <none>"},
		{name: "no mountinfo", dir: "/var/tmp", files: map[string]string{"/proc/self/mountinfo": ""}, wantErr: "read mountinfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tc.files {
				if v == "" {
					delete(files, k)
				} else {
					files[k] = v
				}
			}
			got, err := fakeProbe(files, tc.dumpe2fs).detect(tc.dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("detect(%s) = %+v, want %+v", tc.dir, got, tc.want)
			}
		})
	}
}

func TestNoJournalExt4DecidesTheScratch(t *testing.T) {
	for _, tc := range []struct {
		info fsInfo
		want bool
		desc string
	}{
		{fsInfo{Type: "ext4", Source: "/dev/vda"}, true, "ext4 without a journal on /dev/vda"},
		{fsInfo{Type: "ext4", Source: "/dev/loop4", Journal: true}, false, "ext4 with a journal on /dev/loop4"},
		{fsInfo{Type: "xfs", Source: "/dev/sdb1"}, false, "xfs on /dev/sdb1"},
		{fsInfo{Type: "ext2", Source: "/dev/sdc"}, false, "ext2 on /dev/sdc"},
	} {
		if got := tc.info.noJournalExt4(); got != tc.want {
			t.Errorf("%+v: noJournalExt4 = %v, want %v", tc.info, got, tc.want)
		}
		if got := tc.info.describe(); got != tc.desc {
			t.Errorf("describe = %q, want %q", got, tc.desc)
		}
	}
}

func TestExt4Label(t *testing.T) {
	sb := make([]byte, 136)
	sb[0x38], sb[0x39] = 0x53, 0xEF
	copy(sb[0x78:], scratchLabel)
	if got := ext4Label(sb); got != scratchLabel {
		t.Errorf("label = %q, want %q", got, scratchLabel)
	}
	sb[0x39] = 0
	if got := ext4Label(sb); got != "" {
		t.Errorf("no ext4 magic: label = %q, want none", got)
	}
	if got := ext4Label(sb[:10]); got != "" {
		t.Errorf("short superblock: label = %q", got)
	}
}
