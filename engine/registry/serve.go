package registry

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ServeOptions configure the registry Handler.
type ServeOptions struct {
	// AllowPush accepts blob uploads and manifest pushes into the store;
	// without it the registry is read-only.
	AllowPush bool
	// PushAuth is the credential a push must carry: HTTP Basic auth on
	// the request, or the Basic credential given to the token endpoint for
	// a Bearer token with push scope. Pulls stay anonymous. Without it no
	// client may push, and /v2/ answers anonymous clients without a
	// challenge.
	PushAuth PushAuth
	// UploadExpiry is how long an unfinished blob upload may sit idle before
	// it is removed with its file; 0 means DefaultUploadExpiry.
	UploadExpiry time.Duration
	// Now is the clock uploads expire by; nil means time.Now.
	Now func() time.Time
	// Log receives one line per request ("GET /v2/alpine/manifests/latest
	// 200 528B 1ms 192.168.1.31"); nil logs nothing.
	Log io.Writer
}

// DefaultUploadExpiry is how long an abandoned upload is kept.
const DefaultUploadExpiry = 30 * time.Minute

// NewHandler serves the images of s as an OCI distribution registry:
// /v2/, manifests by tag or digest, blobs (with ranges), tags/list and
// _catalog, and with AllowPush uploads and manifest pushes.
//
// The registry's namespace is the store's Docker Hub namespace, so it can
// stand in for Docker Hub as a mirror: repository "alpine" or
// "library/alpine" is the image `berth images` lists as alpine. Images named
// for another registry ("localhost:5000/x") are served under their path
// ("x") when no Docker Hub name matches. A pushed "alpine:3.20" is tagged
// alpine:3.20 in the store.
//
// Close the handler when done serving, to remove unfinished uploads.
func NewHandler(s *store.Store, opts ServeOptions) *Handler {
	return &Handler{s: s, opts: opts, uploads: map[string]*upload{}, tokenKey: newTokenKey()}
}

// Handler is the registry served over a store.
type Handler struct {
	s    *store.Store
	opts ServeOptions
	// tokenKey signs the Bearer tokens of the token endpoint; made anew
	// for each handler, so a restart invalidates every token.
	tokenKey []byte

	mu      sync.Mutex
	uploads map[string]*upload
	logMu   sync.Mutex // one request's line at a time
}

type upload struct {
	mu   sync.Mutex
	path string
	size int64
	// lastUsed is when a request last touched the upload; guarded by
	// Handler.mu.
	lastUsed time.Time
}

// regError is a distribution-spec error response.
type regError struct {
	status  int
	code    string
	message string
}

func (e *regError) Error() string { return e.code + ": " + e.message }

var (
	errReadOnly = &regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "this registry is read-only: the instructor can restart it with `berth registry serve --allow-push` to accept pushes"}
	errNotFound = &regError{http.StatusNotFound, "NOT_FOUND", "not found"}
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	err := h.route(w, r)
	if err != nil {
		var re *regError
		if !errors.As(err, &re) {
			re = &regError{http.StatusInternalServerError, "UNKNOWN", err.Error()}
		}
		w.Header().Set("Content-Type", "application/json")
		var ae *authError
		if errors.As(err, &ae) {
			w.Header().Set("WWW-Authenticate", ae.challenge)
		}
		w.WriteHeader(re.status)
		if r.Method != http.MethodHead {
			_ = json.NewEncoder(w).Encode(map[string]any{
				"errors": []map[string]string{{"code": re.code, "message": re.message}},
			})
		}
	}
	if h.opts.Log != nil {
		line := fmt.Sprintf("%s %s %d %s %s %s\n", r.Method, r.URL.RequestURI(), rec.status,
			formatBytes(rec.bytes), time.Since(start).Round(time.Microsecond), remoteHost(r.RemoteAddr))
		h.logMu.Lock()
		_, _ = io.WriteString(h.opts.Log, line)
		h.logMu.Unlock()
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func formatBytes(n int64) string { return strconv.FormatInt(n, 10) + "B" }

func remoteHost(addr string) string {
	if i := strings.LastIndex(addr, ":"); i > 0 {
		return strings.Trim(addr[:i], "[]")
	}
	return addr
}

// endpoint is a kind of registry request.
type endpoint int

const (
	epUnknown endpoint = iota
	epBase
	epCatalog
	epTags
	epUpload
	epBlob
	epManifest
)

// parseEndpoint splits a request path into its endpoint, repository and
// the rest (an upload ID, a digest, a tag).
func parseEndpoint(p string) (ep endpoint, repo, rest string) {
	if p == "/v2" || p == "/v2/" {
		return epBase, "", ""
	}
	if !strings.HasPrefix(p, "/v2/") {
		return epUnknown, "", ""
	}
	p = strings.TrimPrefix(p, "/v2/")
	if p == "_catalog" {
		return epCatalog, "", ""
	}
	switch {
	case strings.HasSuffix(p, "/tags/list"):
		return epTags, strings.TrimSuffix(p, "/tags/list"), ""
	case strings.Contains(p, "/blobs/uploads"):
		i := strings.LastIndex(p, "/blobs/uploads")
		return epUpload, p[:i], strings.Trim(p[i+len("/blobs/uploads"):], "/")
	case strings.Contains(p, "/blobs/"):
		i := strings.LastIndex(p, "/blobs/")
		return epBlob, p[:i], p[i+len("/blobs/"):]
	case strings.Contains(p, "/manifests/"):
		i := strings.LastIndex(p, "/manifests/")
		return epManifest, p[:i], p[i+len("/manifests/"):]
	}
	return epUnknown, "", ""
}

func (h *Handler) route(w http.ResponseWriter, r *http.Request) error {
	h.expireUploads()
	if r.URL.Path == "/token" {
		return h.serveToken(w, r)
	}
	ep, repo, rest := parseEndpoint(r.URL.Path)
	// Every request passes here: a wrong credential is refused everywhere
	// (so `berth login` tells a typo at once), a write needs push rights.
	if err := h.authorize(r, accessFor(r, ep, repo)); err != nil {
		return err
	}
	switch ep {
	case epBase:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return &regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed"}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
		return nil
	case epCatalog:
		return h.catalog(w, r)
	case epTags:
		return h.tags(w, r, repo)
	case epUpload:
		return h.upload(w, r, repo, rest)
	case epBlob:
		return h.blob(w, r, repo, rest)
	case epManifest:
		return h.manifest(w, r, repo, rest)
	}
	return errNotFound
}

// checkName validates a repository path.
func checkName(repo string) error {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil || !reference.IsNameOnly(named) || strings.Contains(repo, ":") {
		return &regError{http.StatusBadRequest, "NAME_INVALID", fmt.Sprintf("invalid repository name %q", repo)}
	}
	return nil
}

// servedPath is the repository path an image name is served under, and
// whether it is a Docker Hub name (which wins over other registries' names).
func servedPath(full string) (path string, hub bool, tag string) {
	named, err := reference.ParseNormalizedNamed(full)
	if err != nil {
		return "", false, ""
	}
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return reference.Path(named), reference.Domain(named) == "docker.io", tag
}

// repoMatches reports whether the store name full is served as repo.
func repoMatches(full, repo string) (match, hub bool, tag string) {
	path, hub, tag := servedPath(full)
	if path == "" {
		return false, false, ""
	}
	if hub {
		return path == repo || path == "library/"+repo, true, tag
	}
	return path == repo, false, tag
}

// resolve finds the image served as repo:tag (or repo@digest).
func (h *Handler) resolve(repo, ref string) (*store.Image, error) {
	images, err := h.s.Images()
	if err != nil {
		return nil, err
	}
	if d, err := digest.Parse(ref); err == nil {
		for _, img := range images {
			if img.ManifestDigest == d {
				return img, nil
			}
		}
		return nil, &regError{http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown"}
	}
	var found, fallback *store.Image
	known := false
	for _, img := range images {
		for _, name := range img.Refs {
			ok, hub, tag := repoMatches(name, repo)
			if !ok {
				continue
			}
			known = true
			if tag != ref {
				continue
			}
			if hub && found == nil {
				found = img
			} else if fallback == nil {
				fallback = img
			}
		}
	}
	if found == nil {
		found = fallback
	}
	if found == nil {
		if !known {
			return nil, &regError{http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry"}
		}
		return nil, &regError{http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown"}
	}
	return found, nil
}

func (h *Handler) manifest(w http.ResponseWriter, r *http.Request, repo, ref string) error {
	if err := checkName(repo); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		img, err := h.resolve(repo, ref)
		var re *regError
		if errors.As(err, &re) && re.status == http.StatusNotFound {
			return h.serveIndexManifest(w, r, repo, ref, err)
		}
		if err != nil {
			return err
		}
		data, mediaType, err := h.s.ManifestBytes(img)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", mediaType)
		w.Header().Set("Docker-Content-Digest", img.ManifestDigest.String())
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Header().Set("Etag", `"`+img.ManifestDigest.String()+`"`)
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
		return nil
	case http.MethodPut:
		return h.putManifest(w, r, repo, ref)
	}
	return &regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed"}
}

func (h *Handler) putManifest(w http.ResponseWriter, r *http.Request, repo, ref string) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxManifestSize+1))
	if err != nil {
		return err
	}
	if len(data) > MaxManifestSize {
		return &regError{http.StatusRequestEntityTooLarge, "SIZE_INVALID", "manifest too large"}
	}
	d := digest.FromBytes(data)
	mediaType := ManifestMediaType(r.Header.Get("Content-Type"), data)
	if store.IsIndexType(mediaType) {
		return h.putIndex(w, data, d, mediaType, repo, ref)
	}
	if mediaType != ocispec.MediaTypeImageManifest && mediaType != store.MediaTypeDockerManifest {
		return &regError{http.StatusBadRequest, "MANIFEST_INVALID", fmt.Sprintf("unsupported manifest media type %q", mediaType)}
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return &regError{http.StatusBadRequest, "MANIFEST_INVALID", "manifest is not valid JSON"}
	}
	for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if !h.s.HasBlob(b.Digest) {
			return &regError{http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry: " + b.Digest.String()}
		}
	}
	name, err := manifestName(repo, ref, d)
	if err != nil {
		return err
	}
	sizes, err := LayerSizes(h.s, m.Layers, nil)
	if err != nil {
		return &regError{http.StatusBadRequest, "MANIFEST_INVALID", err.Error()}
	}
	if _, err := h.s.ImportManifest(data, store.ImportOptions{MediaType: mediaType, Ref: name, LayerSizes: sizes}); err != nil {
		return &regError{http.StatusBadRequest, "MANIFEST_INVALID", err.Error()}
	}
	// The tag moves from a multi-platform index that had it.
	if _, _, err := h.s.DropIndexName(name); err != nil {
		return err
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Location", "/v2/"+repo+"/manifests/"+d.String())
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (h *Handler) blob(w http.ResponseWriter, r *http.Request, repo, ref string) error {
	if err := checkName(repo); err != nil {
		return err
	}
	d, err := digest.Parse(ref)
	if err != nil {
		return &regError{http.StatusBadRequest, "DIGEST_INVALID", "invalid digest"}
	}
	if r.Method == http.MethodDelete {
		return &regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "deleting is not supported: use `berth rmi` on the serving machine"}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return &regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed"}
	}
	f, err := h.s.OpenBlob(d)
	if err != nil {
		return &regError{http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry"}
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Etag", `"`+d.String()+`"`)
	w.Header().Set("Cache-Control", "max-age=31536000")
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

func (h *Handler) tags(w http.ResponseWriter, r *http.Request, repo string) error {
	if err := checkName(repo); err != nil {
		return err
	}
	images, err := h.s.Images()
	if err != nil {
		return err
	}
	indexNames, err := h.indexNames()
	if err != nil {
		return err
	}
	images = append(images, &store.Image{Refs: indexNames})
	seen := map[string]bool{}
	known := false
	tags := []string{}
	for _, img := range images {
		for _, name := range img.Refs {
			if ok, _, tag := repoMatches(name, repo); ok {
				known = true
				if tag != "" && !seen[tag] {
					seen[tag] = true
					tags = append(tags, tag)
				}
			}
		}
	}
	if !known {
		return &regError{http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry"}
	}
	sort.Strings(tags)
	tags = page(tags, r)
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"name": repo, "tags": tags})
}

// page applies the ?last= and ?n= parameters of list endpoints.
func page(items []string, r *http.Request) []string {
	if last := r.URL.Query().Get("last"); last != "" {
		i := sort.SearchStrings(items, last)
		if i < len(items) && items[i] == last {
			i++
		}
		items = items[i:]
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && n >= 0 && n < len(items) {
		items = items[:n]
	}
	return items
}

func (h *Handler) catalog(w http.ResponseWriter, r *http.Request) error {
	images, err := h.s.Images()
	if err != nil {
		return err
	}
	indexNames, err := h.indexNames()
	if err != nil {
		return err
	}
	images = append(images, &store.Image{Refs: indexNames})
	seen := map[string]bool{}
	repos := []string{}
	for _, img := range images {
		for _, name := range img.Refs {
			if path, _, _ := servedPath(name); path != "" && !seen[path] {
				seen[path] = true
				repos = append(repos, path)
			}
		}
	}
	sort.Strings(repos)
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"repositories": page(repos, r)})
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request, repo, id string) error {
	if err := checkName(repo); err != nil {
		return err
	}
	if id == "" {
		if r.Method != http.MethodPost {
			return &regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed"}
		}
		return h.startUpload(w, r, repo)
	}
	h.mu.Lock()
	up := h.uploads[id]
	if up != nil {
		up.lastUsed = h.now()
	}
	h.mu.Unlock()
	if up == nil {
		return &regError{http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	location := "/v2/" + repo + "/blobs/uploads/" + id
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Location", location)
		w.Header().Set("Range", uploadRange(up.size))
		w.Header().Set("Docker-Upload-UUID", id)
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPatch:
		if cr := r.Header.Get("Content-Range"); cr != "" {
			var from, to int64
			if _, err := fmt.Sscanf(cr, "%d-%d", &from, &to); err != nil || from != up.size {
				return &regError{http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", "content range does not continue the upload"}
			}
		}
		if err := up.appendFrom(r.Body); err != nil {
			return err
		}
		w.Header().Set("Location", location)
		w.Header().Set("Range", uploadRange(up.size))
		w.Header().Set("Docker-Upload-UUID", id)
		w.WriteHeader(http.StatusAccepted)
		return nil
	case http.MethodPut:
		d, err := digest.Parse(r.URL.Query().Get("digest"))
		if err != nil {
			return &regError{http.StatusBadRequest, "DIGEST_INVALID", "digest missing or invalid"}
		}
		if err := up.appendFrom(r.Body); err != nil {
			return err
		}
		defer h.dropUpload(id)
		f, err := os.Open(up.path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, _, err := h.s.PutBlob(f, d, up.size); err != nil {
			if errors.Is(err, store.ErrInvalidDigest) {
				return &regError{http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content"}
			}
			return err
		}
		w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d.String())
		w.Header().Set("Docker-Content-Digest", d.String())
		w.WriteHeader(http.StatusCreated)
		return nil
	case http.MethodDelete:
		h.dropUpload(id)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return &regError{http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed"}
}

func uploadRange(size int64) string {
	if size == 0 {
		return "0-0"
	}
	return fmt.Sprintf("0-%d", size-1)
}

func (h *Handler) startUpload(w http.ResponseWriter, r *http.Request, repo string) error {
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		if d, err := digest.Parse(mount); err == nil && h.s.HasBlob(d) {
			w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d.String())
			w.Header().Set("Docker-Content-Digest", d.String())
			w.WriteHeader(http.StatusCreated)
			return nil
		}
	}
	if dig := q.Get("digest"); dig != "" {
		d, err := digest.Parse(dig)
		if err != nil {
			return &regError{http.StatusBadRequest, "DIGEST_INVALID", "invalid digest"}
		}
		if _, _, err := h.s.PutBlob(r.Body, d, -1); err != nil {
			if errors.Is(err, store.ErrInvalidDigest) {
				return &regError{http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content"}
			}
			return err
		}
		w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d.String())
		w.Header().Set("Docker-Content-Digest", d.String())
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	f, err := os.CreateTemp(h.s.TmpDir(), "upload-")
	if err != nil {
		return err
	}
	f.Close()
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	h.mu.Lock()
	h.uploads[id] = &upload{path: f.Name(), lastUsed: h.now()}
	h.mu.Unlock()
	w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+id)
	w.Header().Set("Range", "0-0")
	w.Header().Set("Docker-Upload-UUID", id)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (u *upload) appendFrom(r io.Reader) error {
	f, err := os.OpenFile(u.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return &regError{http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"}
	}
	n, err := io.Copy(f, r)
	u.size += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (h *Handler) dropUpload(id string) {
	h.mu.Lock()
	up := h.uploads[id]
	delete(h.uploads, id)
	h.mu.Unlock()
	if up != nil {
		os.Remove(up.path)
	}
}

func (h *Handler) now() time.Time {
	if h.opts.Now != nil {
		return h.opts.Now()
	}
	return time.Now()
}

// expireUploads removes the uploads idle for longer than UploadExpiry: a
// client that started pushing and went away must not fill the disk. It runs
// on every request, and ServeRegistry also calls it now and then.
func (h *Handler) expireUploads() {
	expiry := h.opts.UploadExpiry
	if expiry <= 0 {
		expiry = DefaultUploadExpiry
	}
	cutoff := h.now().Add(-expiry)
	h.mu.Lock()
	var stale []*upload
	for id, up := range h.uploads {
		if up.lastUsed.Before(cutoff) {
			stale = append(stale, up)
			delete(h.uploads, id)
		}
	}
	h.mu.Unlock()
	for _, up := range stale {
		// A request still writing holds up.mu; its file goes when it ends.
		up.mu.Lock()
		os.Remove(up.path)
		up.mu.Unlock()
	}
}

// ExpireUploads removes abandoned uploads now (see ServeOptions.UploadExpiry).
func (h *Handler) ExpireUploads() { h.expireUploads() }

// Close removes the files of unfinished uploads.
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, up := range h.uploads {
		os.Remove(up.path)
		delete(h.uploads, id)
	}
}
