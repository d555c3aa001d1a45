package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/internal/testenv"
)

// netFilesEngine is an engine on a fresh root holding busybox, whose
// containers derive resolv.conf from a file of the test's.
func netFilesEngine(t *testing.T) (e *Engine, hostResolv string) {
	t.Helper()
	testenv.RequireOverlay(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs a static busybox (apt-get install busybox-static)")
	}
	hostResolv = filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(hostResolv, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := hostResolvConf
	hostResolvConf = hostResolv
	t.Cleanup(func() { hostResolvConf = old })
	e, err := Open(filepath.Join(t.TempDir(), "root"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if _, err := e.BootstrapBusybox(context.Background(), BootstrapBusyboxOptions{}); err != nil {
		t.Fatal(err)
	}
	return e, hostResolv
}

// runCat runs the container and returns what it printed.
func runCat(t *testing.T, e *Engine, id string) string {
	t.Helper()
	var out bytes.Buffer
	code, err := e.RunContainer(context.Background(), id, Stdio{Out: &out, Err: &out})
	if err != nil || code != 0 {
		t.Fatalf("run: %d %v: %s", code, err, out.String())
	}
	return out.String()
}

// A host or none container's /etc/hosts and /etc/resolv.conf are written
// once, at create: its first start in the same process keeps them (a mark
// put in them after create is what the container reads). A later start
// writes them again, and so does a first start after the host's
// resolv.conf changed.
func TestNetFilesWrittenOnceAtCreate(t *testing.T) {
	e, hostResolv := netFilesEngine(t)
	ctx := context.Background()
	for _, mode := range []string{"host", "none"} {
		c, err := e.CreateContainer(ctx, ContainerCreateOptions{Image: "busybox", NetworkMode: mode,
			Net: NetworkOptions{ExtraHosts: []string{"extra:192.0.2.7"}}, Cmd: []string{"cat", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}})
		if err != nil {
			t.Fatal(err)
		}
		dir := e.Store.ContainerDir(c.ID)
		created, err := os.ReadFile(filepath.Join(dir, "hosts"))
		if err != nil || !strings.Contains(string(created), "192.0.2.7\textra\n") || !strings.Contains(string(created), "127.0.1.1\t"+c.ID[:12]+"\n") {
			t.Fatalf("%s: hosts at create: %q %v", mode, created, err)
		}
		mark(t, dir)
		if got := runCat(t, e, c.ID); got != c.ID[:12]+"\nmarked-hosts\nmarked-resolv\n" {
			t.Errorf("%s: first start rewrote the files: %q", mode, got)
		}
		mark(t, dir)
		if got := runCat(t, e, c.ID); !strings.Contains(got, "192.0.2.7\textra\n") || !strings.Contains(got, "nameserver 192.0.2.1\n") || strings.Contains(got, "marked") {
			t.Errorf("%s: second start kept the files: %q", mode, got)
		}
	}
	c, err := e.CreateContainer(ctx, ContainerCreateOptions{Image: "busybox", NetworkMode: "host", Cmd: []string{"cat", "/etc/hosts", "/etc/resolv.conf"}})
	if err != nil {
		t.Fatal(err)
	}
	mark(t, e.Store.ContainerDir(c.ID))
	if err := os.WriteFile(hostResolv, []byte("nameserver 192.0.2.2\nsearch example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(hostResolv, later, later); err != nil {
		t.Fatal(err)
	}
	if got := runCat(t, e, c.ID); !strings.Contains(got, "nameserver 192.0.2.2\nsearch example.org\n") || strings.Contains(got, "marked") {
		t.Errorf("start after the host's resolv.conf changed: %q", got)
	}
}

// mark replaces the container's hosts and resolv.conf in place (the files
// the runtime binds), as a start that rewrote them would not leave them.
func mark(t *testing.T, dir string) {
	t.Helper()
	for name, data := range map[string]string{"hosts": "marked-hosts\n", "resolv.conf": "marked-resolv\n"} {
		if err := rewriteInPlace(filepath.Join(dir, name), data); err != nil {
			t.Fatal(err)
		}
	}
}
