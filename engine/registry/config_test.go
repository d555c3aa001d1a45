package registry

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	root := t.TempDir()
	cfg, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source != "" && cfg.Source != SystemConfigPath {
		t.Fatalf("no file in root, got source %q", cfg.Source)
	}
	path := filepath.Join(root, ConfigFileName)
	os.WriteFile(path, []byte(`{"insecure-registries":["192.168.1.20:5000","10.0.0.0/8"],"registry-mirrors":["http://192.168.1.20:5000"]}`), 0o644)
	cfg, err = LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source != path || len(cfg.InsecureRegistries) != 2 || len(cfg.Mirrors) != 1 {
		t.Fatalf("got %+v", cfg)
	}
	os.WriteFile(path, []byte(`{"insecure-registries": [`), 0o644)
	if _, err := LoadConfig(root); err == nil || !strings.Contains(err.Error(), "is not valid JSON") {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(path, []byte(`{"insecure-registries":["http://x:5000"]}`), 0o644)
	if _, err := LoadConfig(root); err == nil || !strings.Contains(err.Error(), "without a scheme") {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(path, []byte(`{"registry-mirrors":["ftp://x"]}`), 0o644)
	if _, err := LoadConfig(root); err == nil || !strings.Contains(err.Error(), "http or https") {
		t.Fatalf("got %v", err)
	}
}

func TestIsInsecure(t *testing.T) {
	cfg := Config{
		InsecureRegistries: []string{"registry.lan:5000", "10.0.0.0/8"},
		Mirrors:            []string{"http://192.168.1.20:5000", "https://mirror.example"},
	}
	cases := map[string]bool{
		"localhost":          true,
		"localhost:5000":     true,
		"127.0.0.1:5000":     true,
		"127.1.2.3":          true,
		"[::1]:5000":         true,
		"registry.lan:5000":  true,
		"registry.lan:5001":  false,
		"10.1.2.3:5000":      true,
		"192.168.1.20:5000":  true, // http:// mirror
		"192.168.1.21:5000":  false,
		"mirror.example":     false,
		"index.docker.io":    false,
		"172.16.0.1:5000":    false, // private, but Docker does not trust it
		"registry.lan":       false,
		"example.invalid:80": false,
	}
	for host, want := range cases {
		if got := cfg.IsInsecure(host); got != want {
			t.Errorf("IsInsecure(%q) = %v, want %v", host, got, want)
		}
	}
}

// go-containerregistry would fall back to plain HTTP for a private address;
// Berth refuses unless the registry is listed, as Docker does.
func TestPlainHTTPRefusedForPrivateAddress(t *testing.T) {
	g := &guardTransport{cfg: Config{}, secure: failTransport{}, insecure: failTransport{}}
	req, _ := http.NewRequest(http.MethodGet, "http://192.168.1.20:5000/v2/", nil)
	_, err := g.RoundTrip(req)
	var plain *PlainHTTPError
	if !errors.As(err, &plain) || plain.Host != "192.168.1.20:5000" {
		t.Fatalf("got %v", err)
	}
	described := describe(err, describeContext{host: "192.168.1.20:5000"})
	if !errors.Is(described, ErrInsecure) || !strings.Contains(described.Error(), "--insecure-registry 192.168.1.20:5000") {
		t.Fatalf("got %v", described)
	}
	// https goes through; listed hosts may use http.
	req, _ = http.NewRequest(http.MethodGet, "https://192.168.1.20:5000/v2/", nil)
	if _, err := g.RoundTrip(req); !errors.Is(err, errFailTransport) {
		t.Fatalf("https refused: %v", err)
	}
	g = &guardTransport{cfg: Config{InsecureRegistries: []string{"192.168.1.20:5000"}}, secure: failTransport{}, insecure: failTransport{}}
	req, _ = http.NewRequest(http.MethodGet, "http://192.168.1.20:5000/v2/", nil)
	if _, err := g.RoundTrip(req); !errors.Is(err, errFailTransport) {
		t.Fatalf("listed registry refused: %v", err)
	}
}

var errFailTransport = errors.New("would have sent")

type failTransport struct{}

func (failTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, errFailTransport }

func TestEndpointsPutMirrorsFirstForDockerHub(t *testing.T) {
	c := newTestClient(Config{Mirrors: []string{"http://192.168.1.20:5000"}})
	hub, _ := c.Repository("docker.io/library/alpine")
	eps := c.Endpoints(hub)
	if len(eps) != 2 || eps[0].Name() != "192.168.1.20:5000/library/alpine" || eps[1].Name() != "index.docker.io/library/alpine" {
		t.Fatalf("endpoints %v", eps)
	}
	other, _ := c.Repository("localhost:5000/x")
	if eps := c.Endpoints(other); len(eps) != 1 || eps[0].Name() != "localhost:5000/x" {
		t.Fatalf("endpoints %v", eps)
	}
}
