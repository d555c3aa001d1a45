package store

import "github.com/berthkit/berth/engine/errdefs"

// The classes of the store's sentinel errors (see engine/errdefs). An
// ambiguous short ID is the caller's to fix, as Docker's 400 says.
func init() {
	errdefs.Register(errdefs.NotFound, ErrNotFound)
	errdefs.Register(errdefs.Conflict, ErrConflict)
	errdefs.Register(errdefs.InvalidParameter, ErrAmbiguous)
}
