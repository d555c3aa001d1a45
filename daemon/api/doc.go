// Package api holds what berth daemon and its clients share on the wire:
// the API version, the request and response bodies Berth adds to Docker's
// (github.com/moby/moby/api/types has the rest), how a --host value is
// read, and which HTTP status stands for which error class.
//
// It imports nothing of the engine, so daemon/client — and any program
// that talks to a daemon — builds without it.
package api
