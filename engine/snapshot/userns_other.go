//go:build !linux

package snapshot

func inUserNS() bool { return false }
