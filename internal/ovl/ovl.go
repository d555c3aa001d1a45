// Package ovl is what berth's two overlayfs mounters share about the
// "volatile" option: the snapshotter mounting a container's file system on
// the host (cp, a build's COPY) and the container's init mounting its root.
//
// A volatile overlay skips every sync of its upper directory, including the
// syncfs of the whole upper file system that the kernel runs when the
// overlay is unmounted: on ext4 that is a journal commit at the exit of
// every container. Berth asks for it only for containers whose upper
// directory nobody keeps (a build step's, a --rm container's); see
// docs/containers.md. The kernel marks a work directory mounted volatile
// (work/incompat/volatile) and refuses to mount it again, volatile or not,
// until the mark is removed.
package ovl

import (
	"os"
	"path/filepath"
	"strings"
)

// Volatile is the overlayfs option (Linux 5.10 and later).
const Volatile = "volatile"

// Mount runs mount with data, overlayfs options naming their directories
// relative to dir (or absolutely). When that fails it retries once
// without a volatile mark an earlier mount of the same work directory left
// (the container ran before, or its berth was killed), then once without
// the volatile option (a kernel before 5.10 refuses it). The error is
// mount's first when every attempt fails.
func Mount(dir, data string, mount func(data string) error) error {
	first := mount(data)
	if first == nil {
		return nil
	}
	if marker := volatileMarker(dir, data); marker != "" {
		if _, err := os.Lstat(marker); err == nil && os.RemoveAll(marker) == nil {
			if mount(data) == nil {
				return nil
			}
		}
	}
	if plain, ok := WithoutOption(data, Volatile); ok && mount(plain) == nil {
		return nil
	}
	return first
}

// volatileMarker is where the kernel marks the work directory of data's
// overlay as mounted volatile, or "" when data names no work directory.
func volatileMarker(dir, data string) string {
	for _, opt := range strings.Split(data, ",") {
		if work, ok := strings.CutPrefix(opt, "workdir="); ok && work != "" {
			if !filepath.IsAbs(work) {
				work = filepath.Join(dir, work)
			}
			return filepath.Join(work, "work", "incompat", Volatile)
		}
	}
	return ""
}

// WithoutOption is data without the option opt, and whether it had it.
func WithoutOption(data, opt string) (string, bool) {
	opts := strings.Split(data, ",")
	kept := opts[:0]
	for _, o := range opts {
		if o != opt {
			kept = append(kept, o)
		}
	}
	return strings.Join(kept, ","), len(kept) < len(opts)
}
