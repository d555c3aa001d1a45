package registry

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// putIndex keeps a pushed multi-platform index (OCI image index or Docker
// manifest list) whose child manifests were pushed before it, as clients
// push them (by digest). The store checks every child and its blobs.
func (h *Handler) putIndex(w http.ResponseWriter, data []byte, d digest.Digest, mediaType, repo, ref string) error {
	name, err := manifestName(repo, ref, d)
	if err != nil {
		return err
	}
	if _, err := h.s.PutIndex(data, mediaType, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &regError{http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", err.Error()}
		}
		return &regError{http.StatusBadRequest, "MANIFEST_INVALID", err.Error()}
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Location", "/v2/"+repo+"/manifests/"+d.String())
	w.WriteHeader(http.StatusCreated)
	return nil
}

// resolveIndex finds the stored index served as repo:tag or by digest, or
// (by digest) a child manifest of a stored index that no image lists.
func (h *Handler) resolveIndex(repo, ref string) (ocispec.Descriptor, bool, error) {
	list, err := h.s.Indexes()
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	if d, err := digest.Parse(ref); err == nil {
		for _, e := range list {
			if e.Digest == d {
				return e, true, nil
			}
		}
		return h.s.IndexChild(d)
	}
	var fallback *ocispec.Descriptor
	for i, e := range list {
		ok, hub, tag := repoMatches(e.Annotations[ocispec.AnnotationRefName], repo)
		if !ok || tag != ref {
			continue
		}
		if hub {
			return e, true, nil
		}
		if fallback == nil {
			fallback = &list[i]
		}
	}
	if fallback != nil {
		return *fallback, true, nil
	}
	return ocispec.Descriptor{}, false, nil
}

// serveIndexManifest answers a manifest request from the stored indexes
// when no image matched (notFound is that error); it returns notFound when
// no index matches either.
func (h *Handler) serveIndexManifest(w http.ResponseWriter, r *http.Request, repo, ref string, notFound error) error {
	desc, ok, err := h.resolveIndex(repo, ref)
	if err != nil {
		return err
	}
	if !ok {
		if _, isDigest := digest.Parse(ref); isDigest == nil {
			return notFound
		}
		// A repository that only holds indexes is known to the registry.
		if re, isReg := notFound.(*regError); isReg && re.code == "NAME_UNKNOWN" && h.indexRepoKnown(repo) {
			return &regError{http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown"}
		}
		return notFound
	}
	data, err := h.s.ReadBlob(desc.Digest)
	if err != nil {
		return &regError{http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown: " + err.Error()}
	}
	w.Header().Set("Content-Type", desc.MediaType)
	w.Header().Set("Docker-Content-Digest", desc.Digest.String())
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Etag", `"`+desc.Digest.String()+`"`)
	if r.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
	return nil
}

// indexNames returns the names of the stored indexes, for tags/list and
// _catalog.
func (h *Handler) indexNames() ([]string, error) {
	list, err := h.s.Indexes()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range list {
		if n := e.Annotations[ocispec.AnnotationRefName]; n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

func (h *Handler) indexRepoKnown(repo string) bool {
	names, _ := h.indexNames()
	for _, n := range names {
		if ok, _, _ := repoMatches(n, repo); ok {
			return true
		}
	}
	return false
}

// manifestName is the name a pushed manifest is stored under: repo@digest
// when pushed by digest (which must be the content's, d), else repo:tag.
func manifestName(repo, ref string, d digest.Digest) (string, error) {
	want, err := digest.Parse(ref)
	if err != nil {
		return repo + ":" + ref, nil
	}
	if want != d {
		return "", &regError{http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content"}
	}
	return repo + "@" + d.String(), nil
}
