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
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		e.regPort = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	return fmt.Sprintf("127.0.0.1:%d", e.regPort), nil
}

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
		conf := e.path("registry.yml")
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
		if err := os.WriteFile(conf, []byte(yml), 0o644); err != nil {
			return err
		}
		cmd = exec.Command(e.tools["docker-registry"], "serve", conf)
	} else {
		kind = "berth registry serve --allow-push"
		cmd = exec.Command(e.Berth, "--root", storage, "registry", "serve", "--allow-push", "-q", "--addr", addr)
	}
	logFile, err := os.Create(e.path("registry.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", kind, err)
	}
	logFile.Close()
	reg = registry{cmd: cmd, addr: addr, kind: kind}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.stopRegistry()
	log, _ := os.ReadFile(e.path("registry.log"))
	return fmt.Errorf("%s on %s did not answer /v2/ within 15s%s", kind, addr, lastLines(string(log), 3))
}

func (e *Env) stopRegistry() {
	if reg.cmd != nil && reg.cmd.Process != nil {
		reg.cmd.Process.Kill()
		reg.cmd.Wait()
	}
	reg.cmd = nil
}
