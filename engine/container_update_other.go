//go:build !linux

package engine

import "github.com/berthkit/berth/engine/store"

// applyLimits changes a running container's cgroups: Linux only.
func applyLimits(*store.Container, store.HostConfig) error {
	return &NeedsLinuxError{Verb: "update"}
}
