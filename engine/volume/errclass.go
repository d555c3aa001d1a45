package volume

import "github.com/berthkit/berth/engine/errdefs"

// The class of a bad mount specification (see engine/errdefs).
func init() {
	errdefs.Register(errdefs.InvalidParameter, ErrInvalid)
}
