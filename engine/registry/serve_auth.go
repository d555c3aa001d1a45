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

// requirePush refuses a write unless the registry accepts pushes and the
// request carries a valid credential.
func (h *Handler) requirePush(r *http.Request) error {
	if !h.opts.AllowPush {
		return errReadOnly
	}
	if h.opts.PushAuth != nil && h.checkCredential(r) != credValid {
		return errAuthRequired
	}
	return nil
}
