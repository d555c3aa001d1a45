//go:build !linux

package snapshot

import (
	"errors"
	"strings"
)

var errNoOverlay = errors.New("overlay snapshots need Linux (overlayfs)")

// MountAt fails off Linux.
func MountAt(m Mount, target string) error { return errNoOverlay }

func unmountAll(target string) error { return nil }

func isMountPoint(path string) (bool, error) { return false, nil }

func isNotEmpty(err error) bool { return err != nil && strings.Contains(err.Error(), "not empty") }
