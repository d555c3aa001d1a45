package registry

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DockerHubAuthKey is where Docker keeps Docker Hub's credentials.
const DockerHubAuthKey = authn.DefaultAuthKey

// NormalizeServer turns what `login` was given ("localhost:5000",
// "https://localhost:5000/", "docker.io", "") into the registry host it
// names ("docker.io" for Docker Hub).
func NormalizeServer(server string) string {
	s := strings.TrimSpace(server)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if i := strings.Index(s, "/"); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return s
}

// authKey is the config.json key for a registry host, as Docker writes it.
func authKey(host string) string {
	if host == "docker.io" {
		return DockerHubAuthKey
	}
	return host
}

// Login checks username and password against the registry at host (as
// NormalizeServer returns it): it pings the registry, fetches a token if it
// wants one, and asks for /v2/ with the credentials.
func (c *Client) Login(ctx context.Context, host, username, password string) error {
	regName := host
	if host == "docker.io" {
		regName = name.DefaultRegistry
	}
	opts := []name.Option{name.WeakValidation}
	if c.cfg.IsInsecure(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(regName, opts...)
	if err != nil {
		return fmt.Errorf("invalid registry %q: %w", host, err)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: username, Password: password})
	dc := describeContext{host: host, credentials: true, cfg: c.cfg}
	rt := c.base
	if c.userAgent != "" {
		rt = transport.NewUserAgent(rt, c.userAgent)
	}
	rt, err = transport.NewWithContext(ctx, reg, auth, rt, nil)
	if err != nil {
		return loginError(describe(err, dc), host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr()), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return loginError(describe(err, dc), host)
	}
	err = transport.CheckError(resp, http.StatusOK)
	resp.Body.Close()
	if err != nil {
		return loginError(describe(err, dc), host)
	}
	return nil
}

func loginError(err error, host string) error {
	if e, ok := err.(*Error); ok && e.Kind == ErrUnauthorized {
		return &Error{Kind: ErrUnauthorized, Err: e.Err, Status: e.Status,
			Msg: fmt.Sprintf("login to %s failed: unauthorized: incorrect username or password", host)}
	}
	return err
}

// DockerConfigDir is where config.json lives: $DOCKER_CONFIG, or ~/.docker.
func DockerConfigDir() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

func loadDockerConfig() (*configfile.ConfigFile, error) {
	cf, err := config.Load(DockerConfigDir())
	if err != nil {
		return nil, fmt.Errorf("%w: fix or move the file, then try again", err)
	}
	return cf, nil
}

// Stored says where SaveCredentials put them.
type Stored struct {
	// Helper is the credential helper that holds them ("pass",
	// "secretservice"), empty when they are in the file.
	Helper string
	// File is the config.json written.
	File string
}

// SaveCredentials stores credentials for host where `docker login` would:
// the credential helper config.json names for it, or config.json itself.
func SaveCredentials(host, username, password string) (Stored, error) {
	cf, err := loadDockerConfig()
	if err != nil {
		return Stored{}, err
	}
	key := authKey(host)
	ac := types.AuthConfig{Username: username, Password: password, ServerAddress: key}
	helper := cf.CredentialHelpers[key]
	if helper == "" {
		helper = cf.CredentialsStore
	}
	if helper != "" {
		if err := cf.GetCredentialsStore(key).Store(ac); err != nil {
			return Stored{}, fmt.Errorf("store credentials with docker-credential-%s: %w", helper, err)
		}
		return Stored{Helper: helper, File: cf.Filename}, nil
	}
	// Written here rather than through the file store, which prints its
	// own warning to the process's stderr; the CLI prints it instead.
	cf.GetAuthConfigs()[key] = ac
	if err := os.MkdirAll(filepath.Dir(cf.Filename), 0o700); err != nil {
		return Stored{}, fmt.Errorf("store credentials: %w", err)
	}
	if err := cf.Save(); err != nil {
		return Stored{}, fmt.Errorf("store credentials in %s: %w", cf.Filename, err)
	}
	return Stored{File: cf.Filename}, nil
}

// EraseCredentials removes stored credentials for host and reports whether
// there were any.
func EraseCredentials(host string) (bool, error) {
	cf, err := loadDockerConfig()
	if err != nil {
		return false, err
	}
	key := authKey(host)
	st := cf.GetCredentialsStore(key)
	found := false
	if ac, err := st.Get(key); err == nil && (ac.Username != "" || ac.Password != "" || ac.IdentityToken != "" || ac.Auth != "") {
		found = true
	}
	if _, ok := cf.GetAuthConfigs()[key]; ok {
		found = true
	}
	if !found {
		return false, nil
	}
	if err := st.Erase(key); err != nil {
		return true, fmt.Errorf("remove credentials for %s: %w", host, err)
	}
	// A helper keeps only a marker in the file; drop it too.
	if _, ok := cf.GetAuthConfigs()[key]; ok {
		delete(cf.GetAuthConfigs(), key)
		if err := cf.Save(); err != nil {
			return true, fmt.Errorf("remove credentials for %s from %s: %w", host, cf.Filename, err)
		}
	}
	return true, nil
}

// StoredUsername returns the user whose credentials are stored for host,
// empty if none.
func StoredUsername(host string) string {
	cf, err := loadDockerConfig()
	if err != nil {
		return ""
	}
	key := authKey(host)
	ac, err := cf.GetCredentialsStore(key).Get(key)
	if err != nil {
		return ""
	}
	return ac.Username
}
