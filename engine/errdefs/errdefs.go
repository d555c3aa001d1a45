package errdefs

import "errors"

// Class is the kind of failure an error reports, independent of the
// package that returned it.
type Class int

// The classes. Unknown is every error without a class: an internal
// failure (HTTP 500). When a chain wraps sentinels of several classes,
// the one listed first here wins.
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

// Sentinel is a sentinel error that carries its class: a package declares
// `var ErrX = errdefs.New(errdefs.NotFound, "...")` instead of errors.New,
// and errors.Is still compares it by identity. It is not a Classer on
// purpose: when a chain wraps sentinels of several classes, the one listed
// first among the classes wins, whatever the order of wrapping.
type Sentinel struct {
	msg   string
	class Class
}

// New returns a sentinel error with the message and class.
func New(class Class, msg string) *Sentinel { return &Sentinel{msg: msg, class: class} }

func (e *Sentinel) Error() string { return e.msg }

// Of returns the class of err: the outermost Classer's, or else the first
// class (in the order of the constants) among the sentinels err wraps, or
// Unknown.
func Of(err error) Class {
	if err == nil {
		return Unknown
	}
	var c Classer
	if errors.As(err, &c) {
		return c.ErrClass()
	}
	found := Unknown
	walk(err, func(e error) {
		if s, ok := e.(*Sentinel); ok && (found == Unknown || s.class < found) {
			found = s.class
		}
	})
	return found
}

// walk calls fn on err and every error it wraps, through both forms of
// Unwrap.
func walk(err error, fn func(error)) {
	for err != nil {
		fn(err)
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e, fn)
			}
			return
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return
		}
	}
}

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
