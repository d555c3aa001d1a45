package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

func TestNormalizeServer(t *testing.T) {
	cases := map[string]string{
		"":                            "docker.io",
		"docker.io":                   "docker.io",
		"https://index.docker.io/v1/": "docker.io",
		"registry-1.docker.io":        "docker.io",
		"localhost:5000":              "localhost:5000",
		"http://localhost:5000/":      "localhost:5000",
	}
	for in, want := range cases {
		if got := NormalizeServer(in); got != want {
			t.Errorf("NormalizeServer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginStoresWhereDockerDoes(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	reg := newTestRegistry(t, basicAuth("ann", "secret"))
	c := newTestClient(Config{})

	err := c.Login(bg(), reg.Host, "ann", "wrong")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "incorrect username or password") {
		t.Fatalf("bad password: %v", err)
	}
	if err := c.Login(bg(), reg.Host, "ann", "secret"); err != nil {
		t.Fatal(err)
	}
	stored, err := SaveCredentials(reg.Host, "ann", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Helper != "" || stored.File != filepath.Join(dir, "config.json") {
		t.Fatalf("stored %+v", stored)
	}
	var cfg struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	data, _ := os.ReadFile(stored.File)
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Auths[reg.Host].Auth; got != base64.StdEncoding.EncodeToString([]byte("ann:secret")) {
		t.Fatalf("config.json auth %q:\n%s", got, data)
	}
	if StoredUsername(reg.Host) != "ann" {
		t.Errorf("stored username %q", StoredUsername(reg.Host))
	}

	// The default keychain (what pulls use) now finds them.
	auth, err := authn.DefaultKeychain.Resolve(mustRepo(t, c, reg.Host+"/x"))
	if err != nil {
		t.Fatal(err)
	}
	ac, _ := auth.Authorization()
	if ac.Username != "ann" || ac.Password != "secret" {
		t.Fatalf("keychain found %+v", ac)
	}

	found, err := EraseCredentials(reg.Host)
	if err != nil || !found {
		t.Fatalf("erase: %v %v", found, err)
	}
	found, err = EraseCredentials(reg.Host)
	if err != nil || found {
		t.Fatalf("second erase: %v %v", found, err)
	}
	data, _ = os.ReadFile(stored.File)
	if strings.Contains(string(data), reg.Host) {
		t.Fatalf("credentials left:\n%s", data)
	}
}

func TestDockerHubCredentialKey(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, err := SaveCredentials("docker.io", "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"))
	if !strings.Contains(string(data), `"https://index.docker.io/v1/"`) {
		t.Fatalf("Docker Hub credentials not under Docker's key:\n%s", data)
	}
}
