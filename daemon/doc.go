// Package daemon is `berth daemon`: a server for the subset of Docker's
// Engine API that the classic workflow uses (build, images, containers,
// exec, commit, save and load), over the same engine facade the CLI drives
// in-process. It is the "Docker server" of the course notes' first picture:
// the client sends the build context as a tar, the daemon unpacks it and
// builds, and every event of every client's work can be followed with
// GET /berth/trace (berth trace follow).
//
// The real docker command works against it (DOCKER_HOST=unix:///run/berth.sock);
// /_ping announces the classic builder. Requests may carry a /v1.NN/ prefix
// between MinAPIVersion and APIVersion, as with Docker. Errors are
// {"message": ...} with Docker's status codes, chosen from the error's
// class (engine/errdefs) in one place, statusOf. What a client shares with
// the daemon on the wire is in daemon/api.
//
// Containers that the daemon starts are supervised by the daemon process
// itself (their output goes to attached clients and to the container's log),
// and are stopped when the daemon shuts down, as dockerd does without
// live-restore.
package daemon
