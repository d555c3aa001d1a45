package registry

import (
	"bufio"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// PushAuth decides who may push to a served registry. Pulls stay anonymous.
type PushAuth interface {
	// Allowed reports whether user and password are a valid credential.
	Allowed(user, password string) bool
}

// TokenAuth accepts any user name with the token as password: the
// credential `berth registry serve --allow-push` prints when it starts.
type TokenAuth struct{ Token string }

// Allowed compares in constant time, so the token cannot be guessed by timing.
func (t TokenAuth) Allowed(_, password string) bool {
	return t.Token != "" && subtle.ConstantTimeCompare([]byte(password), []byte(t.Token)) == 1
}

// Htpasswd is an Apache htpasswd file of bcrypt hashes ("user:$2y$..."), the
// only format Docker's registry (distribution) accepts; make one with
// `htpasswd -Bbn user password`.
type Htpasswd struct{ hashes map[string][]byte }

// ParseHtpasswd reads an htpasswd file. Lines that are empty or start with
// # are skipped; a hash other than bcrypt is refused, as distribution does.
func ParseHtpasswd(r io.Reader) (*Htpasswd, error) {
	h := &Htpasswd{hashes: map[string][]byte{}}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		user, hash, ok := strings.Cut(text, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("htpasswd line %d: want user:hash", line)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("htpasswd line %d (user %s): not a bcrypt hash; make the file with `htpasswd -B`", line, user)
		}
		h.hashes[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read htpasswd: %w", err)
	}
	if len(h.hashes) == 0 {
		return nil, fmt.Errorf("htpasswd file has no users: add one with `htpasswd -B FILE USER`")
	}
	return h, nil
}

// Allowed checks the password against the user's bcrypt hash.
func (h *Htpasswd) Allowed(user, password string) bool {
	hash, ok := h.hashes[user]
	if !ok {
		// Spend the same time as a known user, so names cannot be probed.
		hash = unknownUserHash
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil && ok
}

// unknownUserHash is a bcrypt hash of a password nobody sends, compared
// against for unknown users.
var unknownUserHash = []byte("$2a$10$XJaWTAZVZxeejt1hslt3xuOkSblqJFmBG6K8CqjOAHX2FzZVKJ/QG")

// errAuthRequired is distribution's answer to a push without a valid
// credential; the Docker client prints "unauthorized: authentication required".
var errAuthRequired = &regError{http.StatusUnauthorized, "UNAUTHORIZED", "authentication required"}

// errBadCredential refuses a wrong Basic credential, on every endpoint.
var errBadCredential = &regError{http.StatusUnauthorized, "UNAUTHORIZED", "incorrect username or password"}

// errNoPushAuth refuses writes to a handler that accepts pushes but was
// given no credential to check them with: nobody can have push rights.
var errNoPushAuth = &regError{http.StatusForbidden, "DENIED", "this registry has no push credential to check pushes against: serve it with a token or --htpasswd"}

// authError is a 401 with the challenge that tells the client how to
// authenticate (WWW-Authenticate).
type authError struct {
	*regError
	challenge string
}

func (e *authError) Unwrap() error { return e.regError }

// credentialState is what a request's Authorization header says.
type credentialState int

const (
	credAnonymous credentialState = iota
	credValid
	credInvalid
)

// checkCredential reads the request's basic credential against the
// registry's PushAuth.
func (h *Handler) checkCredential(r *http.Request) credentialState {
	if r.Header.Get("Authorization") == "" {
		return credAnonymous
	}
	user, password, ok := r.BasicAuth()
	if !ok || h.opts.PushAuth == nil || !h.opts.PushAuth.Allowed(user, password) {
		return credInvalid
	}
	return credValid
}

// access is what a request needs: nothing (an unknown path), the ping
// (/v2/, where an anonymous client is challenged so it authenticates), or a
// scope; push marks the scopes that change the store.
type access struct {
	ping bool
	need *scope
	push bool
	repo string
}

// accessFor classifies a request by endpoint and method. Every upload
// request and every method but GET and HEAD on blobs and manifests writes:
// a new write endpoint cannot be forgotten here.
func accessFor(r *http.Request, ep endpoint, repo string) access {
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch ep {
	case epBase:
		return access{ping: true}
	case epCatalog:
		return access{need: &scope{Type: "registry", Name: "catalog", Actions: []string{"*"}}}
	case epTags:
		return access{need: &scope{Type: "repository", Name: repo, Actions: []string{"pull"}}, repo: repo}
	case epBlob, epManifest, epUpload:
		if read && ep != epUpload {
			return access{need: &scope{Type: "repository", Name: repo, Actions: []string{"pull"}}, repo: repo}
		}
		return access{need: &scope{Type: "repository", Name: repo, Actions: []string{"push"}}, push: true, repo: repo}
	}
	return access{}
}

// authorize lets a request through or says why not. Reads need nothing
// more than no wrong credential; writes need push rights: a valid Basic
// credential, or a Bearer token from the token endpoint that grants push on
// the repository. With no PushAuth there are no credentials and no tokens.
func (h *Handler) authorize(r *http.Request, a access) error {
	if a.repo != "" {
		if err := checkName(a.repo); err != nil {
			return err
		}
	}
	if a.push && !h.opts.AllowPush {
		return errReadOnly
	}
	if h.opts.PushAuth == nil {
		if a.push {
			return errNoPushAuth
		}
		return nil
	}
	header := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(header, " ")
	switch {
	case header == "":
		if a.push || a.ping {
			return h.challenge(r, a, "", errAuthRequired)
		}
		return nil
	case strings.EqualFold(scheme, "Bearer"):
		claims := h.verifyToken(strings.TrimSpace(token))
		if claims == nil {
			return h.challenge(r, a, "invalid_token", &regError{http.StatusUnauthorized, "UNAUTHORIZED", "the token is invalid or expired: ask the token endpoint for a new one"})
		}
		if a.need != nil && !claims.allows(*a.need) {
			return h.challenge(r, a, "insufficient_scope", &regError{http.StatusUnauthorized, "UNAUTHORIZED", "authentication required"})
		}
		return nil
	}
	if h.checkCredential(r) != credValid {
		return h.challenge(r, a, "", errBadCredential)
	}
	return nil
}

// challenge is err with distribution's Bearer challenge: the token
// endpoint on the host the client asked, and the scope it needs (a push
// asks for "push,pull", as Docker's engine does).
func (h *Handler) challenge(r *http.Request, a access, reason string, err *regError) error {
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	c := fmt.Sprintf(`Bearer realm=%q,service=%q`, proto+"://"+r.Host+"/token", TokenService)
	if a.need != nil {
		s := *a.need
		if a.push {
			s.Actions = []string{"push", "pull"}
		}
		c += fmt.Sprintf(`,scope=%q`, s.String())
	}
	if reason != "" {
		c += fmt.Sprintf(`,error=%q`, reason)
	}
	return &authError{regError: err, challenge: c}
}
