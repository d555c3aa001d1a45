package registry

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The token scheme of distribution's token server and Docker Hub, which
// clients that send credentials only when challenged (Docker's engine,
// containers/image, go-containerregistry) follow: /v2/ answers 401 with
//
//	WWW-Authenticate: Bearer realm="http://HOST/token",service="berth-registry"
//
// the client asks GET /token?service=berth-registry&scope=repository:NAME:push,pull
// (with its Basic credential, if it has one) and sends the token it gets as
// "Authorization: Bearer TOKEN". Tokens here are opaque: the granted scopes
// and an expiry, signed with HMAC-SHA256 under a key made when the handler is.

// TokenService is the service name of the served registry's token challenges.
const TokenService = "berth-registry"

const (
	// tokenTTL is how long a token is good for, as distribution's default.
	tokenTTL = 5 * time.Minute
	// maxTokenLen bounds the Bearer tokens read: a token for maxScopes
	// scopes of maxScopeLen bytes fits.
	maxTokenLen = 8192
	// maxScopes bounds the scopes of one token request.
	maxScopes = 16
	// maxScopeLen bounds one scope: "repository:" + a name of at most 255
	// bytes + ":push,pull" fits.
	maxScopeLen = 300
	// maxTokenQuery bounds the query string of a token request.
	maxTokenQuery = 8192
)

// scope is one access a token grants or a request needs
// ("repository:course/app:push,pull", "registry:catalog:*").
type scope struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func (s scope) String() string {
	return s.Type + ":" + s.Name + ":" + strings.Join(s.Actions, ",")
}

// tokenClaims is what a token carries.
type tokenClaims struct {
	Expiry int64   `json:"exp"`
	Access []scope `json:"access"`
}

// allows reports whether the claims grant action on the resource of need.
func (c *tokenClaims) allows(need scope) bool {
	for _, s := range c.Access {
		if s.Type == need.Type && s.Name == need.Name && slices.Contains(s.Actions, need.Actions[0]) {
			return true
		}
	}
	return false
}

func newTokenKey() []byte {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read does not fail (Go 1.24+)
	return key
}

func (h *Handler) tokenMAC(payload string) []byte {
	m := hmac.New(sha256.New, h.tokenKey)
	m.Write([]byte("berth-registry-token\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// issueToken signs claims into an opaque token.
func (h *Handler) issueToken(c tokenClaims) (string, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode token: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(data)
	return payload + "." + base64.RawURLEncoding.EncodeToString(h.tokenMAC(payload)), nil
}

// verifyToken checks a token's signature and expiry; nil means it is not
// one this handler issued, or it expired.
func (h *Handler) verifyToken(token string) *tokenClaims {
	if len(token) > maxTokenLen {
		return nil
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, h.tokenMAC(payload)) {
		return nil
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var c tokenClaims
	if err := json.Unmarshal(data, &c); err != nil || h.now().Unix() >= c.Expiry {
		return nil
	}
	return &c
}

// serveToken is the token endpoint: anyone gets pull access (and the
// catalog), push access needs a valid Basic credential. A wrong credential
// is refused, so `docker login` and `berth login` tell a typo at once.
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request) error {
	if h.opts.PushAuth == nil {
		return errNotFound
	}
	if r.Method != http.MethodGet {
		return &regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "the token endpoint answers GET with a Basic credential or none"}
	}
	cred := h.checkCredential(r)
	if cred == credInvalid {
		return errBadCredential
	}
	if len(r.URL.RawQuery) > maxTokenQuery {
		return &regError{http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("token request is over %d bytes", maxTokenQuery)}
	}
	q := r.URL.Query()
	if svc := q.Get("service"); svc != "" && svc != TokenService {
		return &regError{http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("unknown service %q: this registry's is %q", svc, TokenService)}
	}
	access, err := h.grant(q["scope"], cred == credValid)
	if err != nil {
		return err
	}
	now := h.now()
	token, err := h.issueToken(tokenClaims{Expiry: now.Add(tokenTTL).Unix(), Access: access})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(map[string]any{
		"token":        token,
		"access_token": token,
		"expires_in":   int(tokenTTL / time.Second),
		"issued_at":    now.UTC().Format(time.RFC3339),
	})
}

// grant is the part of the asked scopes the client gets: pull on any
// repository and the catalog for everyone, push only with a credential on
// a registry that accepts pushes. Unknown types and actions are left out,
// as distribution's token server does. Scopes come as repeated parameters
// or space-separated in one (OAuth2's form).
func (h *Handler) grant(params []string, credentialed bool) ([]scope, error) {
	var asked []string
	for _, p := range params {
		asked = append(asked, strings.Fields(p)...)
	}
	if len(asked) > maxScopes {
		return nil, &regError{http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("%d scopes asked, at most %d", len(asked), maxScopes)}
	}
	var out []scope
	for _, text := range asked {
		s, err := parseScope(text)
		if err != nil {
			return nil, err
		}
		var actions []string
		for _, a := range s.Actions {
			switch {
			case s.Type == "registry" && s.Name == "catalog" && a == "*",
				s.Type == "repository" && a == "pull",
				s.Type == "repository" && a == "push" && credentialed && h.opts.AllowPush:
				if !slices.Contains(actions, a) {
					actions = append(actions, a)
				}
			}
		}
		if len(actions) > 0 {
			out = append(out, scope{Type: s.Type, Name: s.Name, Actions: actions})
		}
	}
	return out, nil
}

// parseScope reads "type:name:actions"; a name may hold a colon (a
// registry's port), so the type ends at the first and the actions start
// after the last. A repository name must be one the registry would serve.
func parseScope(text string) (scope, error) {
	bad := &regError{http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("malformed scope %.80q: want TYPE:NAME:ACTIONS such as repository:alpine:pull", text)}
	if len(text) > maxScopeLen {
		return scope{}, bad
	}
	typ, rest, ok := strings.Cut(text, ":")
	i := strings.LastIndex(rest, ":")
	if !ok || i < 0 {
		return scope{}, bad
	}
	s := scope{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")}
	if s.Type == "repository" {
		if err := checkName(s.Name); err != nil {
			return scope{}, err
		}
	}
	return s, nil
}
