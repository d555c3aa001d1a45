package errdefs

import (
	"errors"
	"sync"
)

// Class is the kind of failure an error reports, independent of the
// package that returned it.
type Class int

// The classes. Unknown is every error without a class: an internal
// failure (HTTP 500). When a chain wraps registered sentinels of several
// classes, the one listed first here wins.
const (
	Unknown          Class = iota
	NotFound               // what the request names does not exist
	Conflict               // the object's state forbids the operation (running, in use, name taken)
	InvalidParameter       // the request is malformed or names something ambiguously
	Unauthorized           // credentials are missing or were refused
	Forbidden              // the credentials do not allow the operation
	Unavailable            // the service cannot answer now
	NotImplemented         // Berth does not implement what was asked
)

var classNames = [...]string{
	Unknown: "unknown", NotFound: "not found", Conflict: "conflict",
	InvalidParameter: "invalid parameter", Unauthorized: "unauthorized", Forbidden: "forbidden",
	Unavailable: "unavailable", NotImplemented: "not implemented",
}

func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

// Classer is implemented by typed errors that know their class. The
// outermost Classer of a chain decides, even when it says Unknown: a
// wrapper can declassify what it wraps.
type Classer interface {
	ErrClass() Class
}

type sentinel struct {
	err   error
	class Class
}

var (
	sentinelsMu sync.RWMutex
	sentinels   []sentinel
)

// Register gives sentinel errors (made with errors.New) a class; every
// error that wraps one of them has it, unless a Classer outside says
// otherwise. Packages call it once, from an init function in their
// errclass.go, so the table is complete before any error is classified.
func Register(class Class, errs ...error) {
	sentinelsMu.Lock()
	defer sentinelsMu.Unlock()
	for _, err := range errs {
		sentinels = append(sentinels, sentinel{err: err, class: class})
	}
}

// Of returns err's class: the outermost Classer's, else the first (in
// the order of the constants) class of the registered sentinels the chain
// wraps, else Unknown.
func Of(err error) Class {
	if err == nil {
		return Unknown
	}
	var c Classer
	if errors.As(err, &c) {
		return c.ErrClass()
	}
	sentinelsMu.RLock()
	defer sentinelsMu.RUnlock()
	found := Unknown
	for _, s := range sentinels {
		if (found == Unknown || s.class < found) && errors.Is(err, s.err) {
			found = s.class
		}
	}
	return found
}

// IsNotFound reports whether err is of class NotFound.
func IsNotFound(err error) bool { return Of(err) == NotFound }

// IsConflict reports whether err is of class Conflict.
func IsConflict(err error) bool { return Of(err) == Conflict }

// IsInvalidParameter reports whether err is of class InvalidParameter.
func IsInvalidParameter(err error) bool { return Of(err) == InvalidParameter }

// IsUnauthorized reports whether err is of class Unauthorized.
func IsUnauthorized(err error) bool { return Of(err) == Unauthorized }

// IsForbidden reports whether err is of class Forbidden.
func IsForbidden(err error) bool { return Of(err) == Forbidden }

// IsUnavailable reports whether err is of class Unavailable.
func IsUnavailable(err error) bool { return Of(err) == Unavailable }

// IsNotImplemented reports whether err is of class NotImplemented.
func IsNotImplemented(err error) bool { return Of(err) == NotImplemented }

// classed is an error given a class by [WithClass].
type classed struct {
	err   error
	class Class
}

func (e *classed) Error() string   { return e.err.Error() }
func (e *classed) Unwrap() error   { return e.err }
func (e *classed) ErrClass() Class { return e.class }

// WithClass returns err with class c, keeping its message and what it
// wraps; nil stays nil.
func WithClass(err error, c Class) error {
	if err == nil {
		return nil
	}
	return &classed{err: err, class: c}
}
