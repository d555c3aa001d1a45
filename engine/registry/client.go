package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Options configure a Client.
type Options struct {
	// Config says which registries are insecure and which mirror Docker Hub.
	Config Config
	// Keychain finds credentials; nil means authn.DefaultKeychain, which
	// reads $DOCKER_CONFIG/config.json (~/.docker/config.json) and runs the
	// credential helpers it names, as `docker login` left them.
	Keychain authn.Keychain
	// UserAgent is sent with every request ("berth/0.1.0").
	UserAgent string
	// Transport carries the requests; nil means a tuned http.Transport.
	// Plain HTTP to a registry that is not insecure is refused on top of it.
	Transport http.RoundTripper
}

// Client talks to registries. It is safe for concurrent use.
type Client struct {
	cfg       Config
	keychain  authn.Keychain
	userAgent string
	base      http.RoundTripper
}

// NewClient returns a client configured by opts.
func NewClient(opts Options) *Client {
	c := &Client{cfg: opts.Config, keychain: opts.Keychain, userAgent: opts.UserAgent}
	if c.keychain == nil {
		c.keychain = authn.DefaultKeychain
	}
	secure, insecure := opts.Transport, opts.Transport
	if secure == nil {
		secure, insecure = newHTTPTransport(false), newHTTPTransport(true)
	}
	c.base = &guardTransport{cfg: c.cfg, secure: secure, insecure: insecure}
	return c
}

// Config is the configuration the client uses.
func (c *Client) Config() Config { return c.cfg }

func newHTTPTransport(skipVerify bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Layers download in parallel from one host: keep their connections.
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 2 * time.Minute
	t.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if skipVerify {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only for registries the user listed as insecure
	}
	return t
}

// guardTransport refuses plain HTTP to registries that are not insecure
// (go-containerregistry would fall back to it for private address ranges,
// which Docker does not) and skips certificate checks only for insecure ones.
type guardTransport struct {
	cfg      Config
	secure   http.RoundTripper
	insecure http.RoundTripper
	verdicts sync.Map // host → bool: IsInsecure may resolve names
}

func (g *guardTransport) isInsecure(host string) bool {
	if v, ok := g.verdicts.Load(host); ok {
		return v.(bool)
	}
	insecure := g.cfg.IsInsecure(host)
	g.verdicts.Store(host, insecure)
	return insecure
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	insecure := g.isInsecure(req.URL.Host)
	if req.URL.Scheme == "http" && !insecure {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	if insecure {
		return g.insecure.RoundTrip(req)
	}
	return g.secure.RoundTrip(req)
}

// PlainHTTPError is returned for a registry that would need plain HTTP but is
// not listed as insecure.
type PlainHTTPError struct{ Host string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("berth uses plain HTTP only for localhost and insecure registries, and %s is not one", e.Host)
}

// Repository parses a repository name ("docker.io/library/alpine",
// "localhost:5000/x") into go-containerregistry's form, marking insecure
// registries so their ping may fall back to plain HTTP.
func (c *Client) Repository(repo string) (name.Repository, error) {
	r, err := name.NewRepository(repo, name.WeakValidation)
	if err != nil {
		return name.Repository{}, fmt.Errorf("invalid reference format: %w", err)
	}
	if c.cfg.IsInsecure(r.RegistryStr()) {
		return name.NewRepository(repo, name.WeakValidation, name.Insecure)
	}
	return r, nil
}

// Endpoints lists where to pull repo from, in order: for Docker Hub names
// the configured mirrors first, then the repository's own registry.
func (c *Client) Endpoints(repo name.Repository) []name.Repository {
	var out []name.Repository
	if repo.RegistryStr() == name.DefaultRegistry {
		for _, m := range c.cfg.mirrors() {
			mr, err := c.Repository(m.Host + "/" + repo.RepositoryStr())
			if err == nil {
				out = append(out, mr)
			}
		}
	}
	return append(out, repo)
}

// Access is what a session may do.
type Access int

// Accesses.
const (
	Pull Access = iota
	Push
)

// Session is an authenticated conversation with one repository on one
// registry (a mirror counts as a registry). Its methods are safe for
// concurrent use, so layers can move in parallel.
type Session struct {
	Repo   name.Repository
	http   *http.Client
	client *Client
	// credentials is true when the keychain had credentials for the
	// registry, so a 401 means they were refused rather than missing.
	credentials bool
}

// Host is the registry's host[:port] as the user writes it
// ("docker.io" for Docker Hub).
func (s *Session) Host() string { return displayHost(s.Repo.Registry) }

func displayHost(reg name.Registry) string {
	if reg.RegistryStr() == name.DefaultRegistry {
		return "docker.io"
	}
	return reg.RegistryStr()
}

// Open pings the repository's registry, finds credentials in the keychain,
// and fetches a token when the registry wants one. For a push, mountFrom
// names repositories on the same registry whose blobs may be mounted.
func (c *Client) Open(ctx context.Context, repo name.Repository, access Access, mountFrom ...name.Repository) (*Session, error) {
	auth, err := authn.Resolve(ctx, c.keychain, repo)
	if err != nil {
		return nil, fmt.Errorf("read credentials for %s: %w (check ~/.docker/config.json and its credential helper)", displayHost(repo.Registry), err)
	}
	creds := false
	if cfg, err := authn.Authorization(ctx, auth); err == nil && *cfg != (authn.AuthConfig{}) {
		creds = true
	}
	scopes := []string{repo.Scope(transport.PullScope)}
	if access == Push {
		scopes = []string{repo.Scope(transport.PushScope)}
		for _, from := range mountFrom {
			if from.RegistryStr() == repo.RegistryStr() && from.RepositoryStr() != repo.RepositoryStr() {
				scopes = append(scopes, from.Scope(transport.PullScope))
			}
		}
	}
	rt := c.base
	if c.userAgent != "" {
		rt = transport.NewUserAgent(rt, c.userAgent)
	}
	rt, err = transport.NewWithContext(ctx, repo.Registry, auth, rt, scopes)
	if err != nil {
		return nil, describe(err, describeContext{host: displayHost(repo.Registry), credentials: creds, cfg: c.cfg})
	}
	return &Session{Repo: repo, http: &http.Client{Transport: rt}, client: c, credentials: creds}, nil
}

// url builds a URL under the repository: kind is "manifests", "blobs" or
// "tags"; the transport replaces the scheme with the one the ping found.
func (s *Session) url(kind, ref string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", s.Repo.Scheme(), s.Repo.RegistryStr(), s.Repo.RepositoryStr(), kind, ref)
}

// describe words an error of this session for the user.
func (s *Session) describe(err error) error {
	return describe(err, describeContext{host: s.Host(), credentials: s.credentials, cfg: s.client.cfg})
}

// IsDockerHub reports whether the repository lives on Docker Hub.
func IsDockerHub(repo name.Repository) bool {
	return repo.RegistryStr() == name.DefaultRegistry
}

// loginHint is the command that logs in to host.
func loginHint(host string) string {
	if host == "docker.io" {
		return "berth login"
	}
	if strings.ContainsAny(host, " \t") {
		host = fmt.Sprintf("%q", host)
	}
	return "berth login " + host
}
