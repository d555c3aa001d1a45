package registry

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// serveWith serves a fresh store with opts.
func serveWith(t *testing.T, opts ServeOptions) (*Handler, string) {
	t.Helper()
	ss := serveStoreWith(t, opts)
	return ss.h, ss.srv.URL
}

func do(t *testing.T, method, url, user, password string, body io.Reader) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" || password != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func errorCode(body map[string]any) string {
	errs, _ := body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	first, _ := errs[0].(map[string]any)
	code, _ := first["code"].(string)
	msg, _ := first["message"].(string)
	return code + ": " + msg
}

// A wrong Basic credential is refused everywhere, /v2/ included, so login
// can check it; a right one pushes without the token dance.
func TestServeBasicCredential(t *testing.T) {
	_, url := serveWith(t, ServeOptions{AllowPush: true, PushAuth: TokenAuth{Token: "s3cret"}})
	start := url + "/v2/library/busybox/blobs/uploads/"
	resp, body := do(t, http.MethodPost, start, "berth", "guess", nil)
	if resp.StatusCode != http.StatusUnauthorized || errorCode(body) != "UNAUTHORIZED: incorrect username or password" {
		t.Fatalf("push with a wrong token: %d %v, want 401", resp.StatusCode, body)
	}
	if resp, _ := do(t, http.MethodGet, url+"/v2/", "berth", "guess", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/v2/ with a wrong token: %d, want 401 so login fails", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodGet, url+"/v2/library/busybox/tags/list", "berth", "guess", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a read with a wrong token: %d, want 401", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodGet, url+"/v2/", "anyone", "s3cret", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/v2/ with the token: %d, want 200", resp.StatusCode)
	}
	resp, _ = do(t, http.MethodPost, start, "anyone", "s3cret", nil)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") == "" {
		t.Fatalf("push with the token: %d, want 202 with a Location", resp.StatusCode)
	}
}

// An upload that nobody finishes is removed, file and all, once idle for
// UploadExpiry; one still in use is kept.
func TestServeUploadExpires(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h, url := serveWith(t, ServeOptions{AllowPush: true, PushAuth: TokenAuth{Token: "s3cret"}, UploadExpiry: 10 * time.Minute, Now: clock})
	do := func(t *testing.T, method, url, _, _ string, body io.Reader) (*http.Response, map[string]any) {
		return do(t, method, url, "berth", "s3cret", body)
	}

	startUpload := func() string {
		resp, _ := do(t, http.MethodPost, url+"/v2/homework/blobs/uploads/", "", "", nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("start upload: %d", resp.StatusCode)
		}
		return url + resp.Header.Get("Location")
	}
	abandoned, active := startUpload(), startUpload()
	if resp, _ := do(t, http.MethodPatch, abandoned, "", "", strings.NewReader("half a layer")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("patch: %d", resp.StatusCode)
	}
	files, _ := filepath.Glob(filepath.Join(h.s.TmpDir(), "upload-*"))
	if len(files) != 2 {
		t.Fatalf("%d upload files, want 2", len(files))
	}

	advance(6 * time.Minute)
	if resp, _ := do(t, http.MethodPatch, active, "", "", strings.NewReader("more")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("patch of the active upload: %d", resp.StatusCode)
	}
	advance(6 * time.Minute)
	h.ExpireUploads()

	if resp, body := do(t, http.MethodGet, abandoned, "", "", nil); resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(errorCode(body), "BLOB_UPLOAD_UNKNOWN") {
		t.Errorf("abandoned upload after 12 idle minutes: %d %v, want 404 BLOB_UPLOAD_UNKNOWN", resp.StatusCode, body)
	}
	if resp, _ := do(t, http.MethodGet, active, "", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("upload used 6 minutes ago: %d, want 204 (still there)", resp.StatusCode)
	}
	files, _ = filepath.Glob(filepath.Join(h.s.TmpDir(), "upload-*"))
	if len(files) != 1 {
		t.Errorf("%d upload files left, want 1 (the active one)", len(files))
	}
}

func TestParseHtpasswd(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHtpasswd(strings.NewReader("# room\n\nann:" + string(hash) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !h.Allowed("ann", "pw") || h.Allowed("ann", "PW") || h.Allowed("bob", "pw") {
		t.Error("htpasswd accepts the wrong credentials or refuses the right one")
	}
	for name, text := range map[string]string{
		"md5 hash":  "ann:$apr1$abc$0123456789abcdef012345\n",
		"sha1 hash": "ann:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
		"no colon":  "ann\n",
		"no users":  "# nobody\n",
	} {
		if _, err := ParseHtpasswd(strings.NewReader(text)); err == nil {
			t.Errorf("%s: accepted, want an error", name)
		}
	}
}
