package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxManifestSize is the largest manifest or index Berth accepts (4 MiB, as
// containerd and distribution); see store.MaxManifestSize.
const MaxManifestSize = store.MaxManifestSize

// manifestAccept lists the manifest kinds Berth understands, image
// manifests and indexes, Docker's and OCI's.
var manifestAccept = strings.Join([]string{
	ocispec.MediaTypeImageIndex,
	store.MediaTypeDockerManifestList,
	ocispec.MediaTypeImageManifest,
	store.MediaTypeDockerManifest,
}, ", ")

// Manifest is a manifest or index as the registry served it, byte for byte.
type Manifest struct {
	MediaType string
	Data      []byte
	Digest    digest.Digest
}

// IsIndex reports whether the manifest is a multi-platform index.
func (m *Manifest) IsIndex() bool {
	return m.MediaType == ocispec.MediaTypeImageIndex || m.MediaType == store.MediaTypeDockerManifestList
}

// Descriptor describes the manifest (for an index entry or a log line).
func (m *Manifest) Descriptor() ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Data))}
}

// ManifestMediaType decides a manifest's kind from the Content-Type the
// registry sent and the document's own mediaType field, which wins when the
// header is generic.
func ManifestMediaType(contentType string, data []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	var probe struct {
		MediaType string            `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
		Config    json.RawMessage   `json:"config"`
	}
	_ = json.Unmarshal(data, &probe)
	if probe.MediaType != "" {
		return probe.MediaType
	}
	switch mt {
	case ocispec.MediaTypeImageIndex, store.MediaTypeDockerManifestList, ocispec.MediaTypeImageManifest, store.MediaTypeDockerManifest:
		return mt
	}
	// OCI allows documents without mediaType: tell them apart by shape.
	if probe.Manifests != nil {
		return ocispec.MediaTypeImageIndex
	}
	if probe.Config != nil {
		return ocispec.MediaTypeImageManifest
	}
	return mt
}

// Manifest fetches the manifest named by reference, a tag or a digest. A
// manifest asked for by digest must have that digest.
func (s *Session) Manifest(ctx context.Context, reference string) (*Manifest, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url("manifests", reference), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, s.describe(err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, s.describe(err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
	if err != nil {
		return nil, s.describe(fmt.Errorf("read manifest %s: %w", reference, err))
	}
	if len(data) > MaxManifestSize {
		return nil, &Error{Kind: ErrInvalid, Msg: fmt.Sprintf("manifest %s from %s is over berth's limit of %d bytes (4 MiB) for a manifest: it is refused; nothing was tagged", reference, s.Host(), MaxManifestSize)}
	}
	m := &Manifest{Data: data, Digest: digest.FromBytes(data), MediaType: ManifestMediaType(resp.Header.Get("Content-Type"), data)}
	if want, err := digest.Parse(reference); err == nil && want != m.Digest {
		return nil, &Error{Kind: ErrDigestMismatch, Msg: fmt.Sprintf("manifest verification failed for digest %s: %s sent a manifest whose digest is %s; nothing was stored", want, s.Host(), m.Digest)}
	}
	if hdr := resp.Header.Get("Docker-Content-Digest"); hdr != "" {
		if want, err := digest.Parse(hdr); err == nil && want.Algorithm() == m.Digest.Algorithm() && want != m.Digest {
			return nil, &Error{Kind: ErrDigestMismatch, Msg: fmt.Sprintf("manifest verification failed for %s: %s says its digest is %s but the bytes hash to %s; nothing was stored", reference, s.Host(), want, m.Digest)}
		}
	}
	switch m.MediaType {
	case ocispec.MediaTypeImageIndex, store.MediaTypeDockerManifestList, ocispec.MediaTypeImageManifest, store.MediaTypeDockerManifest:
	case "application/vnd.docker.distribution.manifest.v1+json", "application/vnd.docker.distribution.manifest.v1+prettyjws":
		return nil, &Error{Kind: ErrUnsupported, Msg: fmt.Sprintf("%s:%s uses Docker's schema 1 manifest, which Docker itself no longer pulls: push the image again with a current tool", s.Repo.Name(), reference)}
	default:
		return nil, &Error{Kind: ErrUnsupported, Msg: fmt.Sprintf("%s:%s is a %q, not an image berth can pull", s.Repo.Name(), reference, m.MediaType)}
	}
	return m, nil
}

// Blob opens a blob for reading and returns its size as the registry
// announced it (-1 if it did not). The caller verifies the digest.
func (s *Session) Blob(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url("blobs", d.String()), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, 0, s.describe(err)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, 0, s.describe(err)
	}
	return resp.Body, resp.ContentLength, nil
}

// BlobExists asks the registry whether the repository has the blob.
func (s *Session) BlobExists(ctx context.Context, d digest.Digest) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.url("blobs", d.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return false, s.describe(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, s.describe(transport.CheckError(resp, http.StatusOK))
}

// UploadBlob sends a blob of the given size. With mountFrom set (a
// repository path on the same registry) it first asks the registry to mount
// the blob from there, and reports whether that worked: then nothing is sent.
func (s *Session) UploadBlob(ctx context.Context, d digest.Digest, size int64, body io.Reader, mountFrom string) (mounted bool, err error) {
	start := s.url("blobs", "uploads/")
	if mountFrom != "" {
		start += "?" + url.Values{"mount": {d.String()}, "from": {mountFrom}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, start, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Length", "0")
	resp, err := s.http.Do(req)
	if err != nil {
		return false, s.describe(err)
	}
	if mountFrom != "" && resp.StatusCode == http.StatusCreated {
		resp.Body.Close()
		return true, nil
	}
	err = transport.CheckError(resp, http.StatusAccepted)
	resp.Body.Close()
	if err != nil {
		return false, s.describe(err)
	}
	loc, err := resp.Location()
	if err != nil {
		return false, &Error{Kind: ErrRegistry, Err: err, Msg: fmt.Sprintf("registry %s started an upload without a Location: it does not follow the distribution protocol", s.Host())}
	}
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), body)
	if err != nil {
		return false, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = s.http.Do(req)
	if err != nil {
		return false, s.describe(err)
	}
	err = transport.CheckError(resp, http.StatusCreated)
	resp.Body.Close()
	if err != nil {
		return false, s.describe(err)
	}
	return false, nil
}

// PutManifest stores a manifest under reference (a tag or its digest).
func (s *Session) PutManifest(ctx context.Context, reference, mediaType string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.url("manifests", reference), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := s.http.Do(req)
	if err != nil {
		return s.describe(err)
	}
	err = transport.CheckError(resp, http.StatusCreated, http.StatusOK, http.StatusAccepted)
	resp.Body.Close()
	if err != nil {
		return s.describe(err)
	}
	return nil
}

// Tags lists the repository's tags, following the registry's pages.
func (s *Session) Tags(ctx context.Context) ([]string, error) {
	next := s.url("tags", "list?n=1000")
	var out []string
	for next != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.http.Do(req)
		if err != nil {
			return nil, s.describe(err)
		}
		if err := transport.CheckError(resp, http.StatusOK); err != nil {
			resp.Body.Close()
			return nil, s.describe(err)
		}
		var page struct {
			Tags []string `json:"tags"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, MaxManifestSize)).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, s.describe(fmt.Errorf("read tag list: %w", err))
		}
		out = append(out, page.Tags...)
		next = nextLink(req.URL, resp.Header.Get("Link"))
	}
	return out, nil
}

// nextLink resolves a `Link: </v2/x/tags/list?last=a&n=10>; rel="next"` header.
func nextLink(base *url.URL, link string) string {
	if link == "" {
		return ""
	}
	start, end := strings.Index(link, "<"), strings.Index(link, ">")
	if start < 0 || end <= start || !strings.Contains(link[end:], `rel="next"`) {
		return ""
	}
	u, err := base.Parse(link[start+1 : end])
	if err != nil || u.Host != base.Host {
		return ""
	}
	return u.String()
}

// RemoteTags lists the tags of a repository ("alpine", "localhost:5000/x")
// in its registry.
func (c *Client) RemoteTags(ctx context.Context, repository string) ([]string, error) {
	named, err := reference.ParseNormalizedNamed(repository)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format: %w", err)
	}
	repo, err := c.Repository(named.Name())
	if err != nil {
		return nil, err
	}
	sess, err := c.Open(ctx, repo, Pull)
	if err != nil {
		return nil, err
	}
	return sess.Tags(ctx)
}
