//go:build !linux

package engine

import "github.com/berthkit/berth/engine/store"

// populateVolumes: containers are created on Linux only (CreateContainer
// refuses elsewhere first), so there is nothing to fill.
func (e *Engine) populateVolumes(c *store.Container) error { return nil }
