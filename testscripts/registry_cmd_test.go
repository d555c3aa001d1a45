//go:build linux

package testscripts

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// The credentials `registry start -auth` requires: htpasswd's bcrypt of
// registryPass at cost 4, so the registry checks them fast.
const (
	registryUser = "berth"
	registryPass = "berthpass"
	registryHash = "$2b$04$r6/UlZRLXxsBbaSu/RT9.unyjYHqO4z.SkFYZ7lsTYXRpl0HxKCjy"
)

// registryCmd runs registries for a scenario; each stops when it ends.
//
//	registry start [-auth]
//	    starts Debian's docker-registry on a free loopback port with its
//	    storage under $WORK/registry and sets $REGISTRY to its host:port;
//	    with -auth it wants $REGISTRY_USER / $REGISTRY_PASS (set too).
//	registry serve ROOT [FLAG...]
//	    starts `berth --root ROOT registry serve FLAG...` on a free loopback
//	    port and sets $SERVE to its host:port and $SERVE_TOKEN to its push
//	    token; $SERVE_LOG names its output.
//	registry mirror ROOT
//	    writes ROOT/registries.json naming http://$SERVE as the Docker Hub
//	    mirror, as an attendee would.
//	registry corrupt REPO:TAG
//	    overwrites the first layer of the image in the docker-registry of
//	    `registry start` with as many wrong bytes, so it serves a blob that
//	    does not match its digest.
func registryCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("registry does not support negation")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: registry start [-auth] | registry serve ROOT [FLAG...] | registry mirror ROOT | registry corrupt REPO:TAG")
	}
	switch args[0] {
	case "start":
		startDockerRegistry(ts, args[1:])
	case "serve":
		startBerthRegistry(ts, args[1:])
	case "mirror":
		writeMirrorConfig(ts, args[1:])
	case "corrupt":
		corruptFirstLayer(ts, args[1:])
	default:
		ts.Fatalf("registry: unknown subcommand %q", args[0])
	}
}

func freeLoopbackAddr(ts *testscript.TestScript) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func startDockerRegistry(ts *testscript.TestScript, args []string) {
	auth := len(args) == 1 && args[0] == "-auth"
	if len(args) > 1 || (len(args) == 1 && !auth) {
		ts.Fatalf("usage: registry start [-auth]")
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		ts.Fatalf("docker-registry is not installed (apt-get install docker-registry); guard the script with [registry]")
	}
	dir := ts.MkAbs("registry")
	ts.Check(os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	addr := freeLoopbackAddr(ts)
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	if auth {
		ts.Check(os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(registryUser+":"+registryHash+"\n"), 0o600))
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
		ts.Setenv("REGISTRY_USER", registryUser)
		ts.Setenv("REGISTRY_PASS", registryPass)
	}
	configPath := filepath.Join(dir, "config.yml")
	ts.Check(os.WriteFile(configPath, []byte(config), 0o644))
	start(ts, "docker-registry", filepath.Join(dir, "registry.log"), addr, exec.Command(bin, "serve", configPath))
	ts.Setenv("REGISTRY", addr)
	ts.Setenv("REGISTRY_DATA", filepath.Join(dir, "data"))
}

func startBerthRegistry(ts *testscript.TestScript, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: registry serve ROOT [FLAG...]")
	}
	bin, err := exec.LookPath("berth")
	ts.Check(err)
	addr := freeLoopbackAddr(ts)
	cmdArgs := append([]string{"--root", ts.MkAbs(args[0]), "registry", "serve", "--addr", addr}, args[1:]...)
	token := fmt.Sprintf("token-%d", time.Now().UnixNano())
	cmd := exec.Command(bin, cmdArgs...)
	cmd.Env = append(os.Environ(), "HOME="+ts.Getenv("HOME"), "NO_COLOR=1", "BERTH_ROOT=", "BERTH_REGISTRY_TOKEN="+token)
	logPath := ts.MkAbs("serve-" + filepath.Base(args[0]) + ".log")
	start(ts, "berth registry serve", logPath, addr, cmd)
	ts.Setenv("SERVE", addr)
	ts.Setenv("SERVE_TOKEN", token)
	ts.Setenv("SERVE_LOG", logPath)
}

// start runs cmd with its output in logPath, waits until addr answers
// /v2/, and stops it when the scenario ends.
func start(ts *testscript.TestScript, what, logPath, addr string, cmd *exec.Cmd) {
	logFile, err := os.Create(logPath)
	ts.Check(err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	ts.Check(cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ts.Defer(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(logPath)
			ts.Fatalf("%s exited before serving (%v):\n%s", what, err, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			ts.Fatalf("%s did not answer on %s within 20s:\n%s", what, addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func corruptFirstLayer(ts *testscript.TestScript, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: registry corrupt REPO:TAG")
	}
	addr, data := ts.Getenv("REGISTRY"), ts.Getenv("REGISTRY_DATA")
	if addr == "" {
		ts.Fatalf("registry corrupt needs `registry start` first")
	}
	repo, tag, ok := strings.Cut(args[0], ":")
	if !ok {
		ts.Fatalf("registry corrupt: write REPO:TAG")
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/v2/%s/manifests/%s", addr, repo, tag), nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	var m struct {
		Layers []struct {
			Digest string `json:"digest"`
		} `json:"layers"`
	}
	ts.Check(json.NewDecoder(resp.Body).Decode(&m))
	if len(m.Layers) == 0 {
		ts.Fatalf("registry corrupt: %s has no layers (HTTP %s)", args[0], resp.Status)
	}
	hex := strings.TrimPrefix(m.Layers[0].Digest, "sha256:")
	path := filepath.Join(data, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
	blob, err := os.ReadFile(path)
	ts.Check(err)
	for i := range blob {
		blob[i] ^= 0xff
	}
	ts.Check(os.WriteFile(path, blob, 0o644))
	ts.Setenv("CORRUPT_DIGEST", m.Layers[0].Digest)
}

func writeMirrorConfig(ts *testscript.TestScript, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: registry mirror ROOT")
	}
	serve := ts.Getenv("SERVE")
	if serve == "" {
		ts.Fatalf("registry mirror needs `registry serve` first")
	}
	root := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(root, 0o700))
	config := fmt.Sprintf("{\"registry-mirrors\": [\"http://%s\"]}\n", serve)
	ts.Check(os.WriteFile(filepath.Join(root, "registries.json"), []byte(config), 0o644))
}
