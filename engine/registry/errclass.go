package registry

import (
	"errors"

	"github.com/berthkit/berth/engine/errdefs"
)

// ErrClass is the class of a registry failure (see engine/errdefs): a
// missing manifest, refused or insufficient credentials keep theirs; any
// other registry failure is an internal one for the daemon (500), whatever
// it wraps.
func (e *Error) ErrClass() errdefs.Class {
	switch {
	case errors.Is(e, ErrNotFound):
		return errdefs.NotFound
	case errors.Is(e, ErrUnauthorized):
		return errdefs.Unauthorized
	case errors.Is(e, ErrDenied):
		return errdefs.Forbidden
	}
	return errdefs.Unknown
}
