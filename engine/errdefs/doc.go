// Package errdefs gives errors a class — not found, conflict, invalid
// parameter, unauthorized, forbidden, unavailable, not implemented — as
// moby's errdefs does, so that the daemon can choose an HTTP status and the
// CLI an exit code from the class alone, without knowing every package's
// sentinel errors.
//
// An error gets its class in one of two ways, both declared beside the
// error itself:
//
//   - a typed error implements [Classer] (engine/registry's *Error does);
//   - a sentinel is made with [New] instead of errors.New: its message
//     stays as it was and errors.Is keeps comparing it by identity.
//
// [Of] finds the class of any error chain; the Is* helpers test one class.
// The package imports nothing of Berth's, so a client of the daemon can
// classify remote errors without importing the engine.
package errdefs
