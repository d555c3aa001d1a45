package engine

import "github.com/berthkit/berth/engine/store"

// Queries the daemon and the live lessons ask of the store, so that
// nothing outside engine reaches into Engine.Store. LookupImage and
// VolumeSize, which the CLI asks too, are in cli_queries.go.

// ContainerDir is the directory of the container with full ID id, where
// its hostname, hosts and resolv.conf are.
func (e *Engine) ContainerDir(id string) string { return e.Store.ContainerDir(id) }

// ContainerLogPath is the container's log, in Docker's json-file format.
func (e *Engine) ContainerLogPath(id string) string { return e.Store.ContainerLogPath(id) }

// ContainerRecord reads the record of the container with full ID id as
// last written, without checking its process as Container does: for
// callers, such as the daemon's event stream, that only want its name,
// image and labels and must not wait on a dying container.
func (e *Engine) ContainerRecord(id string) (*store.Container, error) {
	return e.Store.ReadContainer(id)
}

// TempDir makes a fresh directory in the store's tmp/, on the store's file
// system, that the next Open removes should this process die first.
func (e *Engine) TempDir(pattern string) (string, error) { return e.Store.TempDir(pattern) }
