// Package cli is berth's command line: one file per verb, each with an
// options struct, a cobra command whose RunE fills the options, and a runX
// function that calls the engine and renders its results. Output goes only
// through the command's writers, so tests and the daemon can capture it.
//
// The verbs that also work against a berth daemon (--host: build, images,
// tag, rmi, pull, push, commit, ps, run) call the engine through the backend
// interface (backend.go), as podman's ContainerEngine: localBackend wraps the
// in-process engine, remoteBackend the daemon's Docker API, and the verb's
// code is written once.
package cli
