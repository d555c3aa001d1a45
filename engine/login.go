package engine

import (
	"context"

	"github.com/berthkit/berth/engine/registry"
)

// LoginOptions configure Login.
type LoginOptions struct {
	// Server is the registry ("localhost:5000"); empty means Docker Hub.
	Server             string
	Username, Password string
	// InsecureRegistries may be reached over plain HTTP (--insecure-registry).
	InsecureRegistries []string
}

// LoginResult says where the credentials went.
type LoginResult struct {
	// Server is the registry host logged in to ("docker.io" for Docker Hub).
	Server string
	// Helper is the credential helper that stores them, empty when they
	// are in File unencrypted.
	Helper string
	// File is the Docker config file written ($DOCKER_CONFIG/config.json
	// or ~/.docker/config.json).
	File string
}

// Login checks the credentials against the registry and stores them where
// `docker login` does, so Docker and Berth share them. It needs no open
// root: root only locates registries.json.
func Login(ctx context.Context, root string, opts LoginOptions) (LoginResult, error) {
	host := registry.NormalizeServer(opts.Server)
	client, err := newRegistryClient(root, opts.InsecureRegistries)
	if err != nil {
		return LoginResult{}, err
	}
	if err := client.Login(ctx, host, opts.Username, opts.Password); err != nil {
		return LoginResult{}, err
	}
	stored, err := registry.SaveCredentials(host, opts.Username, opts.Password)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Server: host, Helper: stored.Helper, File: stored.File}, nil
}

// Logout removes the stored credentials of server (empty: Docker Hub) and
// returns the host and whether there were any.
func Logout(server string) (host string, found bool, err error) {
	host = registry.NormalizeServer(server)
	found, err = registry.EraseCredentials(host)
	return host, found, err
}

// StoredUsername is the user whose credentials are stored for server.
func StoredUsername(server string) string {
	return registry.StoredUsername(registry.NormalizeServer(server))
}
