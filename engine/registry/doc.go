// Package registry is Berth's side of the OCI distribution protocol: the
// client that pulls and pushes manifests and blobs, and the small registry
// that `berth registry serve` runs over a store.
//
// The client leans on go-containerregistry for what is fiddly and shared
// with every other tool: reference parsing, the keychain that reads
// ~/.docker/config.json and credential helpers, and the transport that pings
// a registry, picks https or plain http and fetches bearer tokens. The
// requests themselves (GET a manifest, GET a blob, HEAD, upload, PUT a
// manifest) are made here, so the engine sees every blob as a stream it can
// verify, count and report on, one digest check per byte.
//
// Plain HTTP is used only where Docker uses it: localhost, 127.0.0.0/8 and
// ::1, plus the registries listed as insecure (the --insecure-registry flag
// or registries.json, see Config). Pulls from Docker Hub try the configured
// mirrors first, in order, and fall back to Docker Hub.
//
// Pulls fetch three layers at a time and pushes send five (Docker's
// defaults); a push can recompress layers for the registry (convert.go,
// `push --compression`) without changing the store.
//
// The served registry (serve*.go) checks every request in one place
// (authorize): reads are anonymous, writes need push rights, given by a
// Basic credential or by a Bearer token from its token endpoint
// (serve_token.go), the scheme of Docker Hub and distribution's token
// server, so clients that authenticate only when challenged push too.
//
// Errors read like Docker's ("manifest for alpine:nope not found: manifest
// unknown: manifest unknown", "unauthorized: authentication required") and
// say what to do next.
package registry
