//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A room's worth of pulls (issue 18): roomClients `berth pull`s started at
// once, each into a store of its own, all fetching the same 3-layer image
// from one server on 127.0.0.1: `berth registry serve` (serving the bench
// store, anonymous, read-only) and Debian's docker-registry (the
// distribution project's server) holding the same image, pushed there.

const (
	roomClients = 30
	roomImage   = "bench/room:1"
	// roomDockerfile is busybox plus two 8 MiB layers of random bytes,
	// which no compression shrinks: a transfer of about 17 MB.
	roomDockerfile = "FROM " + baseBerth + "\n" +
		"RUN head -c 8388608 /dev/urandom > /layer1\n" +
		"RUN head -c 8388608 /dev/urandom > /layer2\n"
)

// roomServer is the `berth registry serve` of the room case.
var roomServer *exec.Cmd

// ensureRoomImage builds the room image once in the bench store and
// returns its compressed size (config and layers).
func (e *Env) ensureRoomImage() (int64, error) {
	if err := e.do(e.berth("image", "inspect", roomImage)); err != nil {
		dir := e.path("ctx", "room")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(roomDockerfile), 0o644); err != nil {
			return 0, err
		}
		if err := e.do(e.berth("build", "-q", "--network", "host", "-t", roomImage, dir)); err != nil {
			return 0, fmt.Errorf("build the room image: %w", err)
		}
	}
	return transferSize(e.berthRoot(), roomImage)
}

// transferSize adds up what a pull of the image named ref in an OCI layout
// fetches: its manifest's config and layers, as the manifest sizes them.
func transferSize(layout, ref string) (int64, error) {
	name, err := layoutRef(layout, strings.TrimSuffix(ref, ":1"))
	if err != nil {
		return 0, err
	}
	var idx ocispec.Index
	if err := readJSON(filepath.Join(layout, "index.json"), &idx); err != nil {
		return 0, err
	}
	for _, d := range idx.Manifests {
		if d.Annotations[ocispec.AnnotationRefName] != name {
			continue
		}
		var m ocispec.Manifest
		if err := readJSON(filepath.Join(layout, "blobs", d.Digest.Algorithm().String(), d.Digest.Encoded()), &m); err != nil {
			return 0, err
		}
		n := m.Config.Size
		for _, l := range m.Layers {
			n += l.Size
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s: no manifest named %s", layout, name)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// roomClientsCmd is the timed command: roomClients pulls at once, each
// into its own store under dir; it fails when any pull fails.
func (e *Env) roomClientsCmd(dir, ref string) Cmd {
	// Each client marks its success: a client that could not even start
	// counts as failed.
	script := fmt.Sprintf(`d=%s; n=%d; mkdir -p "$d" || exit 1; i=0
while [ $i -lt $n ]; do
  ( DOCKER_CONFIG=%s %s --root "$d/c$i" pull -q %s >/dev/null 2>"$d/err$i" && : >"$d/ok$i" ) &
  i=$((i+1))
done
wait
ok=$(ls "$d" | grep -c '^ok')
if [ "$ok" != "$n" ]; then echo "$ok of $n clients pulled; first error: $(cat "$d"/err* | head -n 1)" >&2; exit 1; fi`,
		shellQuote(dir), roomClients, shellQuote(e.dockerConfig()), shellQuote(e.Berth), shellQuote(ref))
	return e.sh(script)
}

// roomCase times the room against both servers. Its setup builds the
// image, starts `berth registry serve` and fills docker-registry.
func (e *Env) roomCase() (*Case, error) {
	size, err := e.ensureRoomImage()
	if err != nil {
		return nil, err
	}
	c := &Case{
		ID: "room",
		Title: fmt.Sprintf("a room's worth of pulls: %d `berth pull`s at once of the same 3-layer image (%.1f MB; %.0f MB in all) from a registry on 127.0.0.1, each into an empty store",
			roomClients, float64(size)/1e6, float64(size*roomClients)/1e6),
		// 5 runs: with 3, one run's writeback stall decided the median.
		Warmup: 1, Runs: 5, Bytes: size * roomClients,
	}
	clients := e.path("room-clients")
	clear := func() error { return os.RemoveAll(clients) }
	free, err := freeAddr()
	if err != nil {
		return nil, err
	}
	serveAddr := free.String()
	berth := &Subject{Tool: "berth", Prepare: clear,
		Cmd:  e.roomClientsCmd(clients, serveAddr+"/"+roomImage),
		Note: "`berth registry serve` serving the bench store, anonymous pulls."}
	distribution := &Subject{Tool: "docker-registry", Skip: e.notInstalled("docker-registry"), Prepare: clear,
		Cmd:  e.roomClientsCmd(clients, e.roomRegistryRef()),
		Note: "Debian's docker-registry (distribution) with filesystem storage, the same image pushed to it by berth."}
	c.Subjects = []*Subject{berth, distribution}
	c.Setup = func() error {
		roomServer = exec.Command(e.Berth, "--root", e.berthRoot(), "registry", "serve", "-q", "--addr", serveAddr)
		roomServer.Env = append(os.Environ(), "DOCKER_CONFIG="+e.dockerConfig())
		if err := e.startServer(roomServer, "berth registry serve", serveAddr, "room-serve.log"); err != nil {
			roomServer = nil
			return err
		}
		if distribution.Skip != "" {
			return nil
		}
		if err := e.freshRegistry(); err != nil {
			return err
		}
		if err := e.do(e.berth("tag", roomImage, e.roomRegistryRef())); err != nil {
			return err
		}
		return e.do(e.berth("push", "-q", e.roomRegistryRef()))
	}
	c.Teardown = func() error {
		stopRoomServer()
		e.stopRegistry()
		e.try(e.berth("rmi", e.roomRegistryRef()))
		return clear()
	}
	return c, nil
}

// roomRegistryRef names the room image in the docker-registry of the case.
func (e *Env) roomRegistryRef() string {
	addr, _ := e.registryAddr()
	return addr + "/" + roomImage
}

// stopRoomServer stops the room's `berth registry serve`, if it runs.
func stopRoomServer() {
	if roomServer != nil && roomServer.Process != nil {
		roomServer.Process.Kill()
		roomServer.Wait()
	}
	roomServer = nil
}
