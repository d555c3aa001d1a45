package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthkit/berth/engine/store"
)

// etcFiles reads a container's hostname, hosts and resolv.conf.
func etcFiles(t *testing.T, e *Engine, id string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range []string{"hostname", "hosts", "resolv.conf"} {
		data, err := os.ReadFile(filepath.Join(e.Store.ContainerDir(id), name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(data)
	}
	return out
}

// TestStagedDirIsTheCreatesDir: a container created in a directory staged
// ahead (a build's next RUN step's) has the /etc files and snapshot a
// create without one gives it, also when it differs from the container the
// staging took for a model (another --add-host, a changed host
// resolv.conf): those files are written again. The staged directory is
// gone from tmp/ once taken, and the container runs.
func TestStagedDirIsTheCreatesDir(t *testing.T) {
	e, hostResolv := netFilesEngine(t)
	ctx := context.Background()
	opts := ContainerCreateOptions{Image: "busybox", NetworkMode: "host", Purpose: "build",
		Cmd: []string{"cat", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}}
	model, err := e.CreateContainer(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(o *ContainerCreateOptions)
	}{
		{"same", func(*ContainerCreateOptions) {}},
		{"add-host", func(o *ContainerCreateOptions) { o.Net.ExtraHosts = []string{"extra:192.0.2.7"} }},
		{"host resolv.conf", func(*ContainerCreateOptions) {
			if err := os.WriteFile(hostResolv, []byte("nameserver 192.0.2.9\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		id := store.RandomID()
		st := e.stageDir(id, model).take()
		if st == nil {
			t.Fatalf("%s: staging failed", tc.name)
		}
		o := opts
		tc.change(&o)
		o.id, o.staged = id, st
		c, err := e.CreateContainer(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(st.path); !os.IsNotExist(err) {
			t.Errorf("%s: staged dir still in tmp/: %v", tc.name, err)
		}
		plain, err := e.CreateContainer(ctx, func() ContainerCreateOptions { p := o; p.id, p.staged = "", nil; return p }())
		if err != nil {
			t.Fatal(err)
		}
		got, want := etcFiles(t, e, c.ID), etcFiles(t, e, plain.ID)
		want["hostname"] = c.ID[:12] + "\n"
		want["hosts"] = replaceHostname(want["hosts"], plain.ID[:12], c.ID[:12])
		for name := range want {
			if got[name] != want[name] {
				t.Errorf("%s: %s = %q, want %q", tc.name, name, got[name], want[name])
			}
		}
		if out := runCat(t, e, c.ID); out != got["hostname"]+got["hosts"]+got["resolv.conf"] {
			t.Errorf("%s: the container read %q", tc.name, out)
		}
	}
}

func replaceHostname(hosts, old, new string) string {
	i := len(hosts) - len(old) - 1
	if i < 0 || hosts[i:] != old+"\n" {
		return hosts
	}
	return hosts[:i] + new + "\n"
}
