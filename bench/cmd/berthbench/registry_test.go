//go:build linux

package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Without docker-registry the bench runs `berth registry serve
// --allow-push` and logs its clients in; the stored credential must get a
// push token from the registry's token endpoint and start an upload.
func TestRegistryServeFallbackLogsIn(t *testing.T) {
	berth := filepath.Join(t.TempDir(), "berth")
	build := exec.Command("go", "build", "-o", berth, "github.com/berthkit/berth/cmd/berth")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build berth: %v\n%s", err, out)
	}
	e, err := newEnv(context.Background(), t.TempDir(), t.TempDir(), berth, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	delete(e.tools, "docker-registry")
	if err := e.freshRegistry(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.stopRegistry)
	if reg.kind != "berth registry serve --allow-push" {
		t.Fatalf("registry %q, want the fallback", reg.kind)
	}
	data, err := os.ReadFile(filepath.Join(e.dockerConfig(), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.Auths[reg.addr].Auth == "" {
		t.Fatalf("no credential stored for %s: %v\n%s", reg.addr, err, data)
	}
	q := url.Values{"service": {"berth-registry"}, "scope": {"repository:bench/x:push,pull"}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+reg.addr+"/token?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Basic "+cfg.Auths[reg.addr].Auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.Token == "" {
		t.Fatalf("token with the stored credential: %s %v", resp.Status, err)
	}
	req, _ = http.NewRequest(http.MethodPost, "http://"+reg.addr+"/v2/bench/x/blobs/uploads/", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload with the token: %s, want 202", resp.Status)
	}
}
