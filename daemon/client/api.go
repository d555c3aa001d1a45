package client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berthkit/berth/daemon/api"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
)

// filtersQuery encodes key=value filters as Docker's filters parameter.
func filtersQuery(filters []string) (string, error) {
	m := map[string]map[string]bool{}
	for _, f := range filters {
		k, v, ok := cut(f)
		if !ok {
			return "", fmt.Errorf("bad format of filter (expected name=value)")
		}
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		m[k][v] = true
	}
	data, err := json.Marshal(m)
	return string(data), err
}

func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// BuildOptions are POST /build's parameters.
type BuildOptions struct {
	Tags        []string
	Dockerfile  string
	BuildArgs   map[string]*string
	Labels      map[string]string
	Target      string
	NoCache     bool
	Remove      bool
	ForceRemove bool
	Quiet       bool
	NetworkMode string
	Platform    string
	Pull        bool
}

// Build sends the context tar and returns the JSON message stream; read
// it with ReadStream and close it.
func (c *Client) Build(ctx context.Context, contextTar io.Reader, opts BuildOptions) (io.ReadCloser, error) {
	q := url.Values{}
	for _, t := range opts.Tags {
		q.Add("t", t)
	}
	if opts.Dockerfile != "" {
		q.Set("dockerfile", opts.Dockerfile)
	}
	if len(opts.BuildArgs) > 0 {
		data, err := json.Marshal(opts.BuildArgs)
		if err != nil {
			return nil, err
		}
		q.Set("buildargs", string(data))
	}
	if len(opts.Labels) > 0 {
		data, err := json.Marshal(opts.Labels)
		if err != nil {
			return nil, err
		}
		q.Set("labels", string(data))
	}
	if opts.Target != "" {
		q.Set("target", opts.Target)
	}
	if opts.NetworkMode != "" {
		q.Set("networkmode", opts.NetworkMode)
	}
	if opts.Platform != "" {
		q.Set("platform", opts.Platform)
	}
	q.Set("nocache", boolString(opts.NoCache))
	q.Set("rm", boolString(opts.Remove))
	q.Set("forcerm", boolString(opts.ForceRemove))
	q.Set("q", boolString(opts.Quiet))
	if opts.Pull {
		q.Set("pull", "1")
	}
	header := http.Header{"Content-Type": {"application/x-tar"}}
	resp, err := c.do(ctx, http.MethodPost, "/build", q, contextTar, header)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Images lists images (GET /images/json); reference keeps the names of
// one repository (REPOSITORY[:TAG], docker images' argument).
func (c *Client) Images(ctx context.Context, all bool, reference string, filters []string) ([]api.ImageSummary, error) {
	q := url.Values{}
	if all {
		q.Set("all", "1")
	}
	if reference != "" {
		q.Set("filter", reference)
	}
	if len(filters) > 0 {
		f, err := filtersQuery(filters)
		if err != nil {
			return nil, err
		}
		q.Set("filters", f)
	}
	var out []api.ImageSummary
	return out, c.getJSON(ctx, "/images/json", q, &out)
}

// ImageInspect returns docker image inspect's JSON, raw.
func (c *Client) ImageInspect(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.getJSON(ctx, "/images/"+escapePath(name)+"/json", nil, &out)
}

// Tag names an image (POST /images/{name}/tag).
func (c *Client) Tag(ctx context.Context, source, repo, tag string) error {
	q := url.Values{"repo": {repo}}
	if tag != "" {
		q.Set("tag", tag)
	}
	return c.postJSON(ctx, "/images/"+escapePath(source)+"/tag", q, nil, nil)
}

// RemoveImage removes a name or an image (DELETE /images/{name}).
func (c *Client) RemoveImage(ctx context.Context, name string, force, noPrune bool) ([]image.DeleteResponse, error) {
	q := url.Values{"force": {boolString(force)}, "noprune": {boolString(noPrune)}}
	resp, err := c.do(ctx, http.MethodDelete, "/images/"+escapePath(name), q, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []image.DeleteResponse
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// Pull asks the daemon to pull (POST /images/create); read the stream with
// ReadStream.
func (c *Client) Pull(ctx context.Context, name, platform string) (io.ReadCloser, error) {
	q := url.Values{"fromImage": {name}}
	if platform != "" {
		q.Set("platform", platform)
	}
	resp, err := c.do(ctx, http.MethodPost, "/images/create", q, nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Push asks the daemon to push name (REPO[:TAG]).
func (c *Client) Push(ctx context.Context, name string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodPost, "/images/"+escapePath(name)+"/push", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// CommitOptions are POST /commit's parameters.
type CommitOptions struct {
	Repo, Tag, Comment, Author string
	Changes                    []string
	Pause                      bool
}

// Commit saves a container as an image and returns its ID.
func (c *Client) Commit(ctx context.Context, containerName string, opts CommitOptions) (string, error) {
	q := url.Values{"container": {containerName}, "pause": {boolString(opts.Pause)}}
	for k, v := range map[string]string{"repo": opts.Repo, "tag": opts.Tag, "comment": opts.Comment, "author": opts.Author} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for _, ch := range opts.Changes {
		q.Add("changes", ch)
	}
	var out struct {
		ID string `json:"Id"`
	}
	return out.ID, c.postJSON(ctx, "/commit", q, nil, &out)
}

// Containers lists containers (GET /containers/json).
func (c *Client) Containers(ctx context.Context, all, size bool, filters []string) ([]container.Summary, error) {
	q := url.Values{}
	if all {
		q.Set("all", "1")
	}
	if size {
		q.Set("size", "1")
	}
	if len(filters) > 0 {
		f, err := filtersQuery(filters)
		if err != nil {
			return nil, err
		}
		q.Set("filters", f)
	}
	var out []container.Summary
	return out, c.getJSON(ctx, "/containers/json", q, &out)
}

// ContainerInspect returns Docker's view of a container.
func (c *Client) ContainerInspect(ctx context.Context, id string) (*container.InspectResponse, error) {
	var out container.InspectResponse
	return &out, c.getJSON(ctx, "/containers/"+escapePath(id)+"/json", nil, &out)
}

// CreateContainer creates a container (POST /containers/create).
func (c *Client) CreateContainer(ctx context.Context, name string, req *container.CreateRequest) (*container.CreateResponse, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	var out container.CreateResponse
	return &out, c.postJSON(ctx, "/containers/create", q, req, &out)
}

// StartContainer starts a container; the daemon supervises it.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	return c.postJSON(ctx, "/containers/"+escapePath(id)+"/start", nil, nil, nil)
}

// RemoveContainer removes a container.
func (c *Client) RemoveContainer(ctx context.Context, id string, force bool) error {
	resp, err := c.do(ctx, http.MethodDelete, "/containers/"+escapePath(id), url.Values{"force": {boolString(force)}}, nil, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// KillContainer sends a signal to a container.
func (c *Client) KillContainer(ctx context.Context, id, signal string) error {
	return c.postJSON(ctx, "/containers/"+escapePath(id)+"/kill", url.Values{"signal": {signal}}, nil, nil)
}

// ResizeContainer sets a container's terminal size.
func (c *Client) ResizeContainer(ctx context.Context, id string, rows, cols uint16) error {
	q := url.Values{"h": {strconv.Itoa(int(rows))}, "w": {strconv.Itoa(int(cols))}}
	return c.postJSON(ctx, "/containers/"+escapePath(id)+"/resize", q, nil, nil)
}

// WaitResult is a container's exit, or why it could not be waited for.
type WaitResult struct {
	Code int
	Err  error
}

// Wait asks for the container's next exit (condition "next-exit",
// "removed" or "not-running"). It returns once the daemon has the request
// (so the container may be started next); the result arrives on the
// channel.
func (c *Client) Wait(ctx context.Context, id, condition string) (<-chan WaitResult, error) {
	resp, err := c.do(ctx, http.MethodPost, "/containers/"+escapePath(id)+"/wait", url.Values{"condition": {condition}}, nil, nil)
	if err != nil {
		return nil, err
	}
	ch := make(chan WaitResult, 1)
	go func() {
		defer resp.Body.Close()
		var out container.WaitResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			ch <- WaitResult{Err: fmt.Errorf("wait for container %s: %w", id, err)}
			return
		}
		if out.Error != nil && out.Error.Message != "" {
			ch <- WaitResult{Code: int(out.StatusCode), Err: fmt.Errorf("%s", out.Error.Message)}
			return
		}
		ch <- WaitResult{Code: int(out.StatusCode)}
	}()
	return ch, nil
}

// Attach connects to a container's streams (before or after it starts).
// The returned reader carries Docker's multiplexed stream unless tty.
func (c *Client) Attach(ctx context.Context, id string, stdin, stdout, stderr bool) (net.Conn, io.Reader, error) {
	q := url.Values{"stream": {"1"}, "stdin": {boolString(stdin)}, "stdout": {boolString(stdout)}, "stderr": {boolString(stderr)}}
	conn, br, _, err := c.hijack(ctx, "/containers/"+escapePath(id)+"/attach", q, nil)
	if err != nil {
		return nil, nil, err
	}
	return conn, br, nil
}

// TraceFollow streams the daemon's events as JSON lines until ctx ends.
func (c *Client) TraceFollow(ctx context.Context) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, api.TracePath, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Demux copies Docker's multiplexed stream (8-byte headers: stream, three
// zero bytes, big-endian length) to stdout and stderr.
func Demux(stdout, stderr io.Writer, r io.Reader) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		n := int64(binary.BigEndian.Uint32(hdr[4:]))
		var w io.Writer
		switch hdr[0] {
		case 0, 1:
			w = stdout
		case 2:
			w = stderr
		default:
			return fmt.Errorf("unknown stream %d in the attach stream", hdr[0])
		}
		if _, err := io.CopyN(w, r, n); err != nil {
			return err
		}
	}
}
