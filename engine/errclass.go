package engine

import "github.com/berthkit/berth/engine/errdefs"

// The classes of the engine's sentinel errors (see engine/errdefs): the
// daemon answers with the HTTP status of the class.
func init() {
	errdefs.Register(errdefs.Conflict, ErrRunning, ErrNotRunning)
	errdefs.Register(errdefs.InvalidParameter, ErrInvalidRequest)
	errdefs.Register(errdefs.NotImplemented, ErrLogsNotSupported)
}
