// Package client is the client of berth daemon that the CLI uses in client
// mode (berth --host unix:///run/berth.sock ...): typed calls for the
// Engine API subset the daemon serves, the JSON message streams of build,
// pull and push, Docker's attach protocol (hijacked connection,
// multiplexed frames) and the daemon's trace stream.
//
// It imports the wire types (daemon/api) and the error classes
// (engine/errdefs), not the engine: an error response is an *Error whose
// class is read back from its HTTP status.
package client
