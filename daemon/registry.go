package daemon

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/registry"
	"github.com/google/go-containerregistry/pkg/authn"
	apiregistry "github.com/moby/moby/api/types/registry"
)

// maxAuthHeader bounds the X-Registry-Auth header before it is decoded.
const maxAuthHeader = 64 << 10

// registryAuth reads X-Registry-Auth (base64url of Docker's AuthConfig):
// the credentials the client found for the registry it pulls from or
// pushes to. Nil when there are none: the daemon's stored ones serve.
func registryAuth(r *request) (authn.Keychain, error) {
	raw := strings.TrimSpace(r.Header.Get("X-Registry-Auth"))
	if raw == "" {
		return nil, nil
	}
	if len(raw) > maxAuthHeader {
		return nil, badRequestf("X-Registry-Auth header is larger than %d bytes", maxAuthHeader)
	}
	var data []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if data, err = enc.DecodeString(raw); err == nil {
			break
		}
	}
	if err != nil {
		return nil, badRequestf("invalid X-Registry-Auth header: not base64")
	}
	var cfg apiregistry.AuthConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, badRequestf("invalid X-Registry-Auth header: %v", err)
	}
	if cfg == (apiregistry.AuthConfig{}) {
		return nil, nil // docker sends {} when it has nothing
	}
	return headerKeychain{cfg: cfg}, nil
}

// headerKeychain answers every registry with the header's credentials,
// but one the header names another server for.
type headerKeychain struct{ cfg apiregistry.AuthConfig }

func (k headerKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if k.cfg.ServerAddress != "" && registry.NormalizeServer(k.cfg.ServerAddress) != registry.NormalizeServer(res.RegistryStr()) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: k.cfg.Username, Password: k.cfg.Password, Auth: k.cfg.Auth,
		IdentityToken: k.cfg.IdentityToken, RegistryToken: k.cfg.RegistryToken,
	}), nil
}

// auth is POST /auth: docker login's check of the credentials against
// the registry. The client stores them (in its config file) itself.
func (s *Server) auth(w *responseWriter, r *request) error {
	var req apiregistry.AuthConfig
	if err := decodeJSON(r, s.opts.MaxJSON, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		if req.IdentityToken == "" {
			return badRequestf("username and password are required")
		}
	}
	if _, err := s.eng.RegistryLogin(r.Context(), req.ServerAddress, req.Username, req.Password); err != nil {
		return errdefs.WithClass(err, errdefs.Unauthorized)
	}
	return writeJSON(w, http.StatusOK, apiregistry.AuthResponse{Status: "Login Succeeded"})
}

// distributionInspect is GET /distribution/{name}/json: what the registry
// says name points to.
func (s *Server) distributionInspect(w *responseWriter, r *request) error {
	keychain, err := registryAuth(r)
	if err != nil {
		return err
	}
	desc, platforms, err := s.eng.DistributionInspect(r.Context(), r.name, keychain)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiregistry.DistributionInspect{Descriptor: desc, Platforms: platforms})
}
