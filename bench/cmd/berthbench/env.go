//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Env is the bench directory and the tools found on this machine.
type Env struct {
	Dir     string // everything on disk lives here
	RunDir  string // runtime state that needs short paths (sockets): /run/berth-bench
	Berth   string // the berth binary
	Log     io.Writer
	ctx     context.Context
	tools   map[string]string
	notes   []string // facts about this run for the report
	regPort int
	// podmanRuns is set by Prepare when `podman run` works here.
	podmanRuns bool
	// goHelloSkip says why the start case's Go reference is not timed
	// (Prepare builds it: goHello).
	goHelloSkip string
	// ctrFloorSkip says why the start case's C reference is not timed
	// (Prepare builds it: ctrFloor).
	ctrFloorSkip string
}

// The tools the bench looks for; peers are optional.
var toolNames = []string{"podman", "buildah", "runc", "crun", "skopeo", "umoci", "pigz", "zstd", "gzip",
	"tar", "unshare", "chroot", "hyperfine", "docker-registry"}

func newEnv(ctx context.Context, dir, runDir, berth string, log io.Writer) (*Env, error) {
	abs, err := filepath.Abs(berth)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("berth binary %s: %w (run make build first)", abs, err)
	}
	// Resolved as mountinfo names it, so a mount on it is recognised
	// (the scratch file system, scratch.go).
	dir, err = resolvedDir(dir)
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, RunDir: runDir, Berth: abs, Log: log, ctx: ctx, tools: map[string]string{}}
	for _, t := range toolNames {
		if p, err := exec.LookPath(t); err == nil {
			e.tools[t] = p
		}
	}
	return e, nil
}

func (e *Env) has(tool string) bool { _, ok := e.tools[tool]; return ok }

func (e *Env) notInstalled(tool string) string {
	if e.has(tool) {
		return ""
	}
	return tool + " is not installed (make bench-peers installs it)"
}

func (e *Env) logf(format string, args ...any) { fmt.Fprintf(e.Log, format+"\n", args...) }

func (e *Env) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	e.notes = append(e.notes, n)
	e.logf("note: %s", n)
}

// Paths under the bench directory.
func (e *Env) path(parts ...string) string {
	return filepath.Join(append([]string{e.Dir}, parts...)...)
}

func (e *Env) berthRoot() string      { return e.path("berth") }
func (e *Env) bundle() string         { return e.path("bundle") }
func (e *Env) rootfs() string         { return e.path("bundle", "rootfs") }
func (e *Env) out(name string) string { return e.path("out", name) }

// berthAt runs berth on a given root.
func (e *Env) berthAt(root string, args ...string) Cmd {
	return Cmd{Argv: append([]string{e.Berth, "--root", root}, args...), Env: []string{"DOCKER_CONFIG=" + e.dockerConfig()}}
}

// dockerConfig is where the bench's registry credentials live (berth login
// writes config.json there), so the bench never reads or writes the
// user's own ~/.docker.
func (e *Env) dockerConfig() string { return e.path("docker-config") }

// berth runs berth on the bench root.
func (e *Env) berth(args ...string) Cmd { return e.berthAt(e.berthRoot(), args...) }

// containersEnv points Podman, Buildah and skopeo at the bench's config:
// its own storage (overlay, under the bench directory) and containers.conf.
func (e *Env) containersEnv() []string {
	return []string{
		"CONTAINERS_CONF=" + e.path("containers.conf"),
		"CONTAINERS_STORAGE_CONF=" + e.path("storage.conf"),
		"CONTAINERS_REGISTRIES_CONF=" + e.path("registries.conf"),
		// The credentials berth login wrote (same "auths" format).
		"REGISTRY_AUTH_FILE=" + filepath.Join(e.dockerConfig(), "config.json"),
	}
}

// podman runs podman on the main bench storage.
func (e *Env) podman(args ...string) Cmd {
	return Cmd{Argv: append([]string{"podman"}, args...), Env: e.containersEnv()}
}

// podmanAt runs podman on a second storage (load and pull targets).
func (e *Env) podmanAt(name string, args ...string) Cmd {
	base := []string{"podman", "--root", e.path("podman-" + name), "--runroot", filepath.Join(e.RunDir, "podman-"+name),
		"--storage-driver", "overlay"}
	return Cmd{Argv: append(base, args...), Env: e.containersEnv()}
}

func (e *Env) buildah(args ...string) Cmd {
	return Cmd{Argv: append([]string{"buildah"}, args...), Env: e.containersEnv()}
}

func (e *Env) skopeo(args ...string) Cmd {
	return Cmd{Argv: append([]string{"skopeo"}, args...), Env: e.containersEnv()}
}

func (e *Env) sh(script string) Cmd { return Cmd{Argv: []string{"/bin/sh", "-c", script}} }

// do runs a setup command and returns its error with context.
func (e *Env) do(c Cmd) error {
	_, err := c.Output(e.ctx)
	return err
}

// try runs a cleanup command and ignores failure (the thing may be gone).
func (e *Env) try(c Cmd) { _, _ = c.Output(e.ctx) }

// writeContainersConfig writes the configuration Podman and Buildah need on
// this host: cgroupfs (there is no systemd), events to a file, no default
// ulimits (raising nofile above the hard limit needs CAP_SYS_RESOURCE, which
// this machine does not give), host network to match Berth's default, and
// storage with the overlay driver under the bench directory.
func (e *Env) writeContainersConfig() error {
	conf := `# berthbench: Podman and Buildah on this host (see docs/performance.md)
[containers]
netns = "host"
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
`
	storage := fmt.Sprintf(`# berthbench: the same disk as Berth's root
[storage]
driver = "overlay"
graphroot = %q
runroot = %q
`, e.path("podman"), filepath.Join(e.RunDir, "podman"))
	registries := `# berthbench: short names resolve to docker.io, and only locally (--pull=never)
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
`
	for name, data := range map[string]string{"containers.conf": conf, "storage.conf": storage, "registries.conf": registries} {
		if err := os.WriteFile(e.path(name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// version asks a tool for its version, first line only.
func (e *Env) version(args ...string) string {
	out, err := Cmd{Argv: args}.Output(e.ctx)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return strings.Trim(line, "* ")
}
