package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"
)

// authRequest sends a request with the Authorization header given as is
// ("" for none) and returns the response with its body read.
func authRequest(t *testing.T, method, url, authorization string, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// getToken asks the token endpoint for scopes with a Basic credential
// (user "" for none) and returns the token.
func getToken(t *testing.T, base, user, password string, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {TokenService}, "scope": scopes}
	req, _ := http.NewRequest(http.MethodGet, base+"/token?"+q.Encode(), nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		IssuedAt    string `json:"issued_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token for %v: %s %v", scopes, resp.Status, err)
	}
	if out.Token == "" || out.AccessToken != out.Token || out.ExpiresIn != 300 || out.IssuedAt == "" {
		t.Fatalf("token answer %+v, want token = access_token, expires_in 300, issued_at", out)
	}
	return out.Token
}

// tokenRegistry serves a store that accepts pushes with the token "s3cret",
// on a clock the test moves.
type tokenRegistry struct {
	*servedStore
	mu  sync.Mutex
	now time.Time
}

func serveTokenRegistry(t *testing.T) *tokenRegistry {
	t.Helper()
	tr := &tokenRegistry{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	tr.servedStore = serveStoreWith(t, ServeOptions{AllowPush: true, PushAuth: TokenAuth{Token: "s3cret"},
		Now: func() time.Time { tr.mu.Lock(); defer tr.mu.Unlock(); return tr.now }})
	return tr
}

func (tr *tokenRegistry) advance(d time.Duration) {
	tr.mu.Lock()
	tr.now = tr.now.Add(d)
	tr.mu.Unlock()
}

func basicHeader(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

// Every write endpoint refuses a client without push rights (no
// credential, a pull-only token, a wrong password) with a 401 and a Bearer
// challenge naming the push scope, and changes nothing; the same request
// with the Basic credential or a push token goes through.
func TestServeEveryWriteNeedsPushRights(t *testing.T) {
	tr := serveTokenRegistry(t)
	base := tr.srv.URL + "/v2/homework"
	good := basicHeader("berth", "s3cret")
	pushToken := "Bearer " + getToken(t, tr.srv.URL, "berth", "s3cret", "repository:homework:push,pull")
	pullToken := "Bearer " + getToken(t, tr.srv.URL, "", "", "repository:homework:push,pull")
	mounted := digest.FromString("mounted")
	if _, _, err := tr.s.PutBlob(strings.NewReader("mounted"), mounted, -1); err != nil {
		t.Fatal(err)
	}
	// startUpload opens an upload with push rights, for the endpoints
	// that act on one.
	startUpload := func(digest.Digest) string {
		resp, _ := authRequest(t, http.MethodPost, base+"/blobs/uploads/", good, nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("start upload: %s", resp.Status)
		}
		return tr.srv.URL + resp.Header.Get("Location")
	}
	cases := []struct {
		name, method string
		url          func(d digest.Digest) string
		ok           int  // status with push rights
		stores       bool // the good request stores the blob
	}{
		{"start upload", http.MethodPost, func(digest.Digest) string { return base + "/blobs/uploads/" }, http.StatusAccepted, false},
		{"monolithic upload", http.MethodPost, func(d digest.Digest) string { return base + "/blobs/uploads/?digest=" + d.String() }, http.StatusCreated, true},
		{"cross-repository mount", http.MethodPost, func(digest.Digest) string {
			return base + "/blobs/uploads/?from=other&mount=" + mounted.String()
		}, http.StatusCreated, false},
		{"upload status", http.MethodGet, startUpload, http.StatusNoContent, false},
		{"upload chunk", http.MethodPatch, startUpload, http.StatusAccepted, false},
		{"finish upload", http.MethodPut, func(d digest.Digest) string { return startUpload(d) + "?digest=" + d.String() }, http.StatusCreated, true},
		{"cancel upload", http.MethodDelete, startUpload, http.StatusNoContent, false},
		{"manifest push", http.MethodPut, func(digest.Digest) string { return base + "/manifests/1" }, http.StatusBadRequest, false},
		{"manifest delete", http.MethodDelete, func(digest.Digest) string { return base + "/manifests/1" }, http.StatusMethodNotAllowed, false},
		{"blob delete", http.MethodDelete, func(digest.Digest) string { return base + "/blobs/" + mounted.String() }, http.StatusMethodNotAllowed, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blob := []byte("a layer for " + c.name)
			d := digest.FromBytes(blob)
			for _, bad := range []struct{ who, authorization, reason string }{
				{"anonymous", "", ""},
				{"pull-only token", pullToken, `,error="insufficient_scope"`},
				{"forged token", pushToken[:len(pushToken)-2] + "AA", `,error="invalid_token"`},
				{"wrong password", basicHeader("berth", "guess"), ""},
			} {
				u := c.url(d)
				resp, body := authRequest(t, c.method, u, bad.authorization, blob)
				want := `Bearer realm="` + tr.srv.URL + `/token",service="berth-registry",scope="repository:homework:push,pull"` + bad.reason
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want || !strings.Contains(body, `"UNAUTHORIZED"`) {
					t.Errorf("%s: %s %q %s, want 401 with %s", bad.who, resp.Status, resp.Header.Get("WWW-Authenticate"), body, want)
				}
				if path, _, _ := strings.Cut(u, "?"); !strings.HasSuffix(path, "/uploads/") {
					// The refused request left the upload as it was.
					if resp, _ := authRequest(t, http.MethodGet, path, good, nil); strings.Contains(path, "/uploads/") &&
						(resp.StatusCode != http.StatusNoContent || resp.Header.Get("Range") != "0-0") {
						t.Errorf("%s: upload after a refused %s: %s range %q, want it untouched", bad.who, c.method, resp.Status, resp.Header.Get("Range"))
					}
				}
			}
			if tr.s.HasBlob(d) || !tr.s.HasBlob(mounted) {
				t.Fatalf("a refused request stored or removed a blob")
			}
			for _, authorization := range []string{good, pushToken} {
				if resp, body := authRequest(t, c.method, c.url(d), authorization, blob); resp.StatusCode != c.ok {
					t.Errorf("with push rights (%.6s): %s %s, want %d", authorization, resp.Status, body, c.ok)
				}
				if c.stores && !tr.s.HasBlob(d) {
					t.Errorf("with push rights: blob not stored")
				}
			}
			tr.h.Close() // drop the uploads the case opened
		})
	}
}

// Pulls stay anonymous: manifests, blobs, tags and the catalog answer
// without a credential, and with a pull token; only the ping (/v2/)
// challenges an anonymous client, so that it fetches a token and sends its
// credential when it has one.
func TestServeReadsStayAnonymous(t *testing.T) {
	tr := serveTokenRegistry(t)
	f := newFixture(t, fixtureOptions{})
	storeFixture(t, tr.s, f, "course/app:1")
	reads := []string{"/v2/course/app/manifests/1", "/v2/course/app/blobs/" + f.Layers[0].Digest.String(), "/v2/course/app/tags/list", "/v2/_catalog"}
	for _, p := range reads {
		if resp, body := authRequest(t, http.MethodGet, tr.srv.URL+p, "", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("anonymous GET %s: %s %s", p, resp.Status, body)
		}
	}
	resp, _ := authRequest(t, http.MethodGet, tr.srv.URL+"/v2/", "", nil)
	want := `Bearer realm="` + tr.srv.URL + `/token",service="berth-registry"`
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("anonymous /v2/: %s %q, want 401 with %s", resp.Status, resp.Header.Get("WWW-Authenticate"), want)
	}
	pull := "Bearer " + getToken(t, tr.srv.URL, "", "", "repository:course/app:pull", "registry:catalog:*")
	for _, p := range append(reads, "/v2/") {
		if resp, body := authRequest(t, http.MethodGet, tr.srv.URL+p, pull, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a pull token: %s %s", p, resp.Status, body)
		}
	}
	// A token for one repository does not read another: the client is
	// told the scope to ask for.
	resp, _ = authRequest(t, http.MethodGet, tr.srv.URL+"/v2/other/tags/list", pull, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="repository:other:pull",error="insufficient_scope"`) {
		t.Errorf("another repository with the token: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

// The token endpoint grants pull to anyone and push only with the
// credential; tokens expire, cannot be forged and the inputs are bounded.
func TestServeTokenEndpoint(t *testing.T) {
	tr := serveTokenRegistry(t)
	start := tr.srv.URL + "/v2/homework/blobs/uploads/"
	push := "Bearer " + getToken(t, tr.srv.URL, "berth", "s3cret", "repository:homework:pull,push")
	if resp, body := authRequest(t, http.MethodPost, start, push, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("push token: %s %s", resp.Status, body)
	}
	// Scopes in one parameter, space-separated (OAuth2's form), count too.
	both := "Bearer " + getToken(t, tr.srv.URL, "berth", "s3cret", "repository:a:pull repository:homework:push")
	if resp, _ := authRequest(t, http.MethodPost, start, both, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("space-separated scopes: %s", resp.Status)
	}
	tr.advance(tokenTTL)
	if resp, _ := authRequest(t, http.MethodPost, start, push, nil); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("token after its 5 minutes: %s %q, want 401 invalid_token", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	// A token another handler signed (a restarted server) is not valid here.
	other := NewHandler(tr.s, ServeOptions{AllowPush: true, PushAuth: TokenAuth{Token: "s3cret"}})
	foreign, err := other.issueToken(tokenClaims{Expiry: time.Now().Add(time.Hour).Unix(), Access: []scope{{"repository", "homework", []string{"push"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := authRequest(t, http.MethodPost, start, "Bearer "+foreign, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token of another key: %s, want 401", resp.Status)
	}

	bad := []struct {
		name, query, user string
		status            int
		message           string
	}{
		{"wrong password", "scope=repository:homework:push", "guess", http.StatusUnauthorized, "incorrect username or password"},
		{"other service", "service=registry.docker.io&scope=repository:x:pull", "", http.StatusBadRequest, "unknown service"},
		{"malformed scope", "scope=homework", "", http.StatusBadRequest, "malformed scope"},
		{"bad repository name", "scope=repository:UPPER:pull", "", http.StatusBadRequest, "invalid repository name"},
		{"long scope", "scope=repository:" + strings.Repeat("a", maxScopeLen) + ":pull", "", http.StatusBadRequest, "malformed scope"},
		{"too many scopes", strings.Repeat("scope=repository:x:pull&", maxScopes+1), "", http.StatusBadRequest, "17 scopes asked, at most 16"},
		{"long query", "scope=" + strings.Repeat("+", maxTokenQuery), "", http.StatusBadRequest, "token request is over 8192 bytes"},
	}
	for _, c := range bad {
		authorization := ""
		if c.user != "" {
			authorization = basicHeader("berth", c.user)
		}
		resp, body := authRequest(t, http.MethodGet, tr.srv.URL+"/token?"+c.query, authorization, nil)
		if resp.StatusCode != c.status || !strings.Contains(body, c.message) {
			t.Errorf("%s: %s %s, want %d %q", c.name, resp.Status, body, c.status, c.message)
		}
	}
	if resp, _ := authRequest(t, http.MethodGet, start, "Bearer "+strings.Repeat("a", maxTokenLen+1), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("oversized token: %s, want 401", resp.Status)
	}
	if resp, _ := authRequest(t, http.MethodPost, tr.srv.URL+"/token", "", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /token: %s, want 405", resp.Status)
	}
}

// A read-only registry has no credentials to check: no token endpoint,
// /v2/ answers anonymous clients, and a write is refused as read-only
// whatever it carries.
func TestServeReadOnlyHasNoTokens(t *testing.T) {
	ss := serveStore(t, false)
	if resp, _ := authRequest(t, http.MethodGet, ss.srv.URL+"/v2/", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/v2/ of a read-only registry: %s, want 200", resp.Status)
	}
	if resp, _ := authRequest(t, http.MethodGet, ss.srv.URL+"/token?scope=repository:x:pull", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/token of a read-only registry: %s, want 404", resp.Status)
	}
	resp, body := authRequest(t, http.MethodPost, ss.srv.URL+"/v2/x/blobs/uploads/", basicHeader("berth", "anything"), nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(body, "--allow-push") {
		t.Errorf("push to a read-only registry: %s %s, want 405 read-only", resp.Status, body)
	}
	// A handler that accepts pushes but has no credential refuses them all.
	_, url := serveWith(t, ServeOptions{AllowPush: true})
	resp, body = authRequest(t, http.MethodPost, url+"/v2/x/blobs/uploads/", basicHeader("berth", "anything"), nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no push credential") {
		t.Errorf("push without a configured credential: %s %s, want 403", resp.Status, body)
	}
	files, _ := filepath.Glob(filepath.Join(ss.s.TmpDir(), "upload-*"))
	if len(files) != 0 {
		t.Errorf("refused pushes left %v", files)
	}
}

// go-containerregistry, which sends a credential only when challenged,
// pushes with Basic credentials through the token endpoint, cannot push
// anonymously, and pulls anonymously; berth's own client does the same.
func TestServeTokenClients(t *testing.T) {
	tr := serveTokenRegistry(t)
	img := platformImage(t, "amd64")
	ref, _ := name.ParseReference(tr.Host + "/homework/ann:1")
	err := remote.Write(ref, img)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous remote.Write: %v, want a 401", err)
	}
	if images, _ := tr.s.Images(); len(images) != 0 {
		t.Fatalf("anonymous push stored %v", images)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "berth", Password: "s3cret"})); err != nil {
		t.Fatalf("remote.Write with the token as password: %v", err)
	}
	if !strings.Contains(tr.log.String(), "GET /token?scope=repository%3Ahomework%2Fann%3Apush%2Cpull") {
		t.Errorf("go-containerregistry did not use the token endpoint:\n%s", tr.log.String())
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("anonymous remote.Image: %v", err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got, _ := pulled.Digest(); got != want {
		t.Fatalf("pulled %s, pushed %s", got, want)
	}
	wrong := remote.WithAuth(&authn.Basic{Username: "berth", Password: "guess"})
	if _, err := remote.Image(ref, wrong); !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("pull with a wrong password: %v, want a 401", err)
	}

	// berth's client: an anonymous pull, a push with the credential.
	stored, err := newTestClient(Config{}).Pull(bg(), openStore(t), tr.Host+"/homework/ann:1", PullOptions{})
	if err != nil || stored.ManifestDigest.String() != want.String() {
		t.Fatalf("berth pull: %v", err)
	}
	mirrored := newTestClient(Config{Mirrors: []string{"http://" + tr.Host}})
	if stored, err := mirrored.Pull(bg(), openStore(t), "homework/ann:1", PullOptions{}); err != nil || stored.ManifestDigest.String() != want.String() {
		t.Fatalf("berth pull through the registry as a mirror: %v", err)
	}
	src := openStore(t)
	storeFixture(t, src, newFixture(t, fixtureOptions{}), tr.Host+"/course/app:2")
	if _, err := newTestClient(Config{}).Push(bg(), src, tr.Host+"/course/app:2", PushOptions{}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("anonymous berth push: %v, want ErrUnauthorized", err)
	}
	c := NewClient(Options{Keychain: staticKeychain{"berth", "s3cret"}, UserAgent: "berth-test"})
	if _, err := c.Push(bg(), src, tr.Host+"/course/app:2", PushOptions{}); err != nil {
		t.Fatalf("berth push with the credential: %v", err)
	}
	if _, err := tr.s.Image("course/app:2"); err != nil {
		t.Fatal(err)
	}
}
