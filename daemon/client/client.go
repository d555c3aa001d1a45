package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/engine/errdefs"
)

// Options configure New.
type Options struct {
	// TLS connects to a tcp:// host over TLS.
	TLS *tls.Config
	// UserAgent names the client; "" is "berth-client".
	UserAgent string
}

// Client talks to one daemon.
type Client struct {
	host    string
	network string
	addr    string
	tls     *tls.Config
	agent   string
	http    *http.Client
}

// New returns a client for a --host value (unix:///run/berth.sock,
// tcp://127.0.0.1:2375). Nothing is dialled until the first request.
func New(host string, opts Options) (*Client, error) {
	network, addr, err := api.ParseHost(host)
	if err != nil {
		return nil, err
	}
	c := &Client{host: host, network: network, addr: addr, tls: opts.TLS, agent: opts.UserAgent}
	if c.agent == "" {
		c.agent = "berth-client"
	}
	c.http = &http.Client{Transport: &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx) },
		MaxIdleConns:        4,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		TLSHandshakeTimeout: 10 * time.Second,
	}}
	return c, nil
}

// Host is the host the client talks to.
func (c *Client) Host() string { return c.host }

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.network, c.addr)
	if err != nil {
		return nil, &ConnectError{Host: c.host, Err: err}
	}
	if c.tls != nil && c.network == "tcp" {
		cfg := c.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(c.addr)
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, &ConnectError{Host: c.host, Err: err}
		}
		return tc, nil
	}
	return conn, nil
}

// ConnectError says the daemon could not be reached.
type ConnectError struct {
	Host string
	Err  error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("Cannot connect to the Berth daemon at %s. Is the daemon running? (start it with berth daemon --host %s): %v", e.Host, e.Host, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// ErrClass says a daemon that cannot be reached is unavailable.
func (e *ConnectError) ErrClass() errdefs.Class { return errdefs.Unavailable }

// Error is an error response of the daemon.
type Error struct {
	StatusCode int
	Message    string
	// ExitCode is the exit code `berth run` gives the failure, when the
	// daemon says (a container that could not start).
	ExitCode int
}

func (e *Error) Error() string { return e.Message }

// ErrClass is the class of the daemon's error, read back from its HTTP
// status, so errdefs.Of classifies a remote error as the daemon did.
func (e *Error) ErrClass() errdefs.Class { return api.ClassOfStatus(e.StatusCode) }

// NotFound reports a 404.
func (e *Error) NotFound() bool { return e.ErrClass() == errdefs.NotFound }

// IsNotFound reports whether err is the daemon's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.NotFound()
}

func (c *Client) url(path string, query url.Values) string {
	scheme := "http"
	if c.tls != nil {
		scheme = "https"
	}
	u := scheme + "://berth/v" + api.APIVersion + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// escapePath escapes a name for a path segment but keeps the slashes and
// colons of image names, as docker's client does.
func escapePath(name string) string {
	return strings.ReplaceAll(url.PathEscape(name), "%2F", "/")
}

// do sends a request; a status of 400 or more is returned as *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body io.Reader, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, query), body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.agent)
	resp, err := c.http.Do(req)
	if err != nil {
		var ce *ConnectError
		if errors.As(err, &ce) {
			return nil, ce
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

func decodeError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var er api.ErrorResponse
	if json.Unmarshal(data, &er) != nil || er.Message == "" {
		er.Message = strings.TrimSpace(string(data))
		if er.Message == "" {
			er.Message = resp.Status
		}
	}
	return &Error{StatusCode: resp.StatusCode, Message: er.Message, ExitCode: er.BerthExitCode}
}

// getJSON decodes a GET's response into v.
func (c *Client) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, query, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// postJSON sends in as JSON (nil: no body) and decodes the answer into out
// (nil: discarded).
func (c *Client) postJSON(ctx context.Context, path string, query url.Values, in, out any) error {
	var body io.Reader
	header := http.Header{}
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
		header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(ctx, http.MethodPost, path, query, body, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Ping checks that the daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, "/_ping", nil, nil, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// StreamError is an error message that ended a JSON stream.
type StreamError struct {
	Message string
	// Code is the failing command's exit code (a build's RUN), or 0.
	Code int
	// Step is the build step that failed (-1 for a step error without a
	// number), or 0 for an error outside a step.
	Step int
}

func (e *StreamError) Error() string { return e.Message }

// ReadStream reads a JSON message stream (build, pull, push, load),
// calling fn for every message; an error message ends it as *StreamError.
func ReadStream(r io.Reader, fn func(api.Message) error) error {
	dec := json.NewDecoder(r)
	for {
		var m api.Message
		if err := dec.Decode(&m); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("read the daemon's answer: %w", err)
		}
		if m.Error != nil || m.ErrorMessage != "" {
			se := &StreamError{Message: m.ErrorMessage, Step: m.BerthStep}
			if m.Error != nil {
				se.Code = m.Error.Code
				if m.Error.Message != "" {
					se.Message = m.Error.Message
				}
			}
			return se
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

// hijack sends a request that takes the connection over (attach, exec
// start) and returns the connection with its buffered reader.
func (c *Client) hijack(ctx context.Context, path string, query url.Values, body any) (net.Conn, *bufio.Reader, string, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, nil, "", err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(path, query), bytes.NewReader(payload))
	if err != nil {
		return nil, nil, "", err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, nil, "", fmt.Errorf("%s: %w", path, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if resp.StatusCode >= 400 {
		defer conn.Close()
		return nil, nil, "", decodeError(resp)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, nil, "", fmt.Errorf("%s: unexpected answer %s", path, resp.Status)
	}
	return conn, br, resp.Header.Get("Content-Type"), nil
}
