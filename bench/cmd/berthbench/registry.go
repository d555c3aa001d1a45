//go:build linux

package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// registry is a loopback registry the push and pull cases talk to: Debian's
// docker-registry (the distribution project's server) when installed, else
// `berth registry serve --allow-push` on a root of its own.
type registry struct {
	cmd  *exec.Cmd
	addr string
	kind string
}

var reg registry

// registryAddr picks a free loopback port once; restarts reuse it.
func (e *Env) registryAddr() (string, error) {
	if e.regPort == 0 {
		addr, err := freeAddr()
		if err != nil {
			return "", err
		}
		e.regPort = addr.Port
	}
	return fmt.Sprintf("127.0.0.1:%d", e.regPort), nil
}

// freeAddr picks a free loopback port.
func freeAddr() (*net.TCPAddr, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr), nil
}

// benchToken is the push credential of `berth registry serve --allow-push`
// when it stands in for docker-registry: the server takes it from
// $BERTH_REGISTRY_TOKEN, and the bench logs in with it (docs/registry.md).
const benchToken = "berthbench-push-token"

// freshRegistry (re)starts the registry with empty storage, so every push
// uploads every blob and no client can mount blobs from an earlier push.
func (e *Env) freshRegistry() error {
	e.stopRegistry()
	addr, err := e.registryAddr()
	if err != nil {
		return err
	}
	storage := e.path("registry")
	if err := os.RemoveAll(storage); err != nil {
		return err
	}
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return err
	}
	var cmd *exec.Cmd
	kind := "docker-registry"
	if e.has("docker-registry") {
		if cmd, err = e.distributionCmd(storage, addr, "registry.yml"); err != nil {
			return err
		}
	} else {
		kind = "berth registry serve --allow-push"
		cmd = exec.Command(e.Berth, "--root", storage, "registry", "serve", "--allow-push", "-q", "--addr", addr)
		cmd.Env = append(os.Environ(), "BERTH_REGISTRY_TOKEN="+benchToken)
	}
	if err := e.startServer(cmd, kind, addr, "registry.log"); err != nil {
		return err
	}
	reg = registry{cmd: cmd, addr: addr, kind: kind}
	if cmd.Env != nil {
		// Pushes to `registry serve` need its token: log the bench's
		// clients in (credentials under the bench directory, see dockerConfig).
		if err := e.login(addr, benchToken); err != nil {
			e.stopRegistry()
			return err
		}
	}
	return nil
}

// distributionCmd is Debian's docker-registry serving storage on addr, with
// its configuration written to the bench directory under conf.
func (e *Env) distributionCmd(storage, addr, conf string) (*exec.Cmd, error) {
	yml := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
`, storage, addr)
	if err := os.WriteFile(e.path(conf), []byte(yml), 0o644); err != nil {
		return nil, err
	}
	return exec.Command(e.tools["docker-registry"], "serve", e.path(conf)), nil
}

// startServer starts a registry, its output in the bench directory's
// logName, and waits until it answers /v2/.
func (e *Env) startServer(cmd *exec.Cmd, kind, addr, logName string) error {
	logFile, err := os.Create(e.path(logName))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", kind, err)
	}
	logFile.Close()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			// 401: a registry that wants a token or a credential
			// (`registry serve --allow-push`) is up too.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	log, _ := os.ReadFile(e.path(logName))
	return fmt.Errorf("%s on %s did not answer /v2/ within 15s%s", kind, addr, lastLines(string(log), 3))
}

// login stores a credential for addr where the bench's berth, skopeo and
// podman read it (dockerConfig).
func (e *Env) login(addr, secret string) error {
	pw := e.path("registry-token")
	if err := os.WriteFile(pw, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	c := e.berth("login", addr, "-u", "berth", "--password-stdin")
	c.Stdin = pw
	if err := e.do(c); err != nil {
		return fmt.Errorf("log in to %s: %w", addr, err)
	}
	return nil
}

func (e *Env) stopRegistry() {
	if reg.cmd != nil && reg.cmd.Process != nil {
		reg.cmd.Process.Kill()
		reg.cmd.Wait()
	}
	reg.cmd = nil
}

// keep says whether pid is a registry the bench runs on purpose, which
// the runner must not wait for between runs.
func keep(pid int) bool {
	for _, c := range []*exec.Cmd{reg.cmd, roomServer} {
		if c != nil && c.Process != nil && c.Process.Pid == pid {
			return true
		}
	}
	return false
}
