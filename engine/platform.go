package engine

import (
	"errors"
	"fmt"
)

// ErrNeedsLinux marks a verb that cannot run on this operating system: the
// engine runs containers on Linux namespaces and overlayfs. Recorded
// lessons and traces replay anywhere.
var ErrNeedsLinux = errors.New("needs Linux")

// NeedsLinuxError is the error of a verb (such as "run" or "container
// exec") asked of the engine off Linux. errors.Is(err, ErrNeedsLinux) holds.
type NeedsLinuxError struct {
	Verb string
}

func (e *NeedsLinuxError) Error() string {
	return fmt.Sprintf("berth %s needs Linux (namespaces and overlayfs); on this machine use 'berth lesson <name> --replay'", e.Verb)
}

// Is makes errors.Is(err, ErrNeedsLinux) true.
func (e *NeedsLinuxError) Is(target error) bool { return target == ErrNeedsLinux }
