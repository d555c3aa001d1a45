package api

// The Engine API versions the daemon speaks. Docker clients negotiate down to
// APIVersion through /_ping; a request with a /vX.Y/ prefix outside
// [MinAPIVersion, APIVersion] is refused as Docker refuses it.
const (
	APIVersion    = "1.50"
	MinAPIVersion = "1.24"
)

// TracePath is where a daemon streams its events: GET /berth/trace answers
// with one trace event per line (docs/trace.md's JSON lines), from every
// build, run, commit, pull and push any client does, until the client
// goes away. It is Berth's own endpoint; the version prefix is accepted.
const TracePath = "/berth/trace"
