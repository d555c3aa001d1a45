//go:build !linux

package snapshot

// FuseType is the Mount type of a fuse-overlayfs snapshot (Linux only).
const FuseType = "fuse-overlayfs"

func useFuse() bool { return false }
