package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinel errors, checked with errors.Is on what the client returns.
var (
	// ErrNotFound: the registry does not know the manifest, tag or repository.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: credentials are missing or were refused (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDenied: the credentials do not allow the operation (HTTP 403).
	ErrDenied = errors.New("denied")
	// ErrUnreachable: the registry did not answer (refused, no such host, timeout).
	ErrUnreachable = errors.New("registry unreachable")
	// ErrInsecure: the registry needs plain HTTP or an unverified
	// certificate and is not listed as insecure.
	ErrInsecure = errors.New("insecure registry not allowed")
	// ErrDigestMismatch: content does not match the digest it was asked by.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInvalid: a manifest, index, config or layer the registry sent is
	// malformed, over a limit or inconsistent; it wraps store.ErrInvalidImage
	// when the store's checks found it.
	ErrInvalid = errors.New("invalid content")
	// ErrUnsupported: a manifest kind or media type Berth does not handle.
	ErrUnsupported = errors.New("unsupported")
	// ErrRegistry: any other failure the registry reported.
	ErrRegistry = errors.New("registry error")
)

// Error is a registry failure worded for the user. Kind is one of the
// sentinels; errors.Is matches it and the underlying error.
type Error struct {
	Kind error
	Msg  string
	Err  error
	// Status is the HTTP status of the response, 0 if there was none.
	Status int
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind and the cause.
func (e *Error) Unwrap() []error {
	out := []error{e.Kind}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

type describeContext struct {
	host        string
	credentials bool
	cfg         Config
}

// dockerText renders a registry's error body as Docker does:
// "manifest unknown: manifest unknown", "unauthorized: authentication required".
func dockerText(terr *transport.Error) string {
	if len(terr.Errors) == 0 {
		switch terr.StatusCode {
		case http.StatusUnauthorized:
			return "unauthorized: authentication required"
		case http.StatusForbidden:
			return "denied: requested access to the resource is denied"
		case http.StatusNotFound:
			return "not found"
		}
		return fmt.Sprintf("unexpected status code %d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
	}
	parts := make([]string, 0, len(terr.Errors))
	for _, d := range terr.Errors {
		code := strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
		if d.Message == "" {
			parts = append(parts, code)
			continue
		}
		parts = append(parts, code+": "+d.Message)
	}
	return strings.Join(parts, "; ")
}

// hasCode reports whether the registry's answer carries the code.
func hasCode(terr *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range terr.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// describe turns a transport or HTTP failure into an *Error that says what
// happened and what to do. Errors already described pass through.
func describe(err error, dc describeContext) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) || (errors.As(err, &opErr) && opErr.Op == "dial") {
		cause := err
		if dnsErr != nil {
			cause = dnsErr
		} else {
			cause = opErr
		}
		return &Error{Kind: ErrUnreachable, Err: err,
			Msg: fmt.Sprintf("cannot reach registry %s: %v (check the name and port, and that the registry is running)", dc.host, cause)}
	}
	var plain *PlainHTTPError
	if errors.As(err, &plain) {
		return &Error{Kind: ErrInsecure, Err: err,
			Msg: fmt.Sprintf("registry %s answers only over plain HTTP, which berth uses for localhost and 127.0.0.0/8 alone: if you trust the network, pass --insecure-registry %s or list it under \"insecure-registries\" in registries.json", dc.host, dc.host)}
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) {
		return &Error{Kind: ErrInsecure, Err: err,
			Msg: fmt.Sprintf("registry %s: its TLS certificate is not trusted (%v): install its CA certificate, or if you trust the network pass --insecure-registry %s", dc.host, err, dc.host)}
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		text := dockerText(terr)
		switch {
		case terr.StatusCode == http.StatusUnauthorized || hasCode(terr, transport.UnauthorizedErrorCode):
			hint := fmt.Sprintf("run `%s` and try again", loginHint(dc.host))
			if dc.credentials {
				hint = fmt.Sprintf("the registry refused the credentials stored for %s: run `%s` again", dc.host, loginHint(dc.host))
			}
			return &Error{Kind: ErrUnauthorized, Err: err, Status: terr.StatusCode, Msg: fmt.Sprintf("%s (%s)", text, hint)}
		case terr.StatusCode == http.StatusForbidden || hasCode(terr, transport.DeniedErrorCode):
			return &Error{Kind: ErrDenied, Err: err, Status: terr.StatusCode,
				Msg: fmt.Sprintf("%s (log in as a user allowed to do this with `%s`)", text, loginHint(dc.host))}
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
			return &Error{Kind: ErrNotFound, Err: err, Status: terr.StatusCode, Msg: text}
		case terr.StatusCode == http.StatusTooManyRequests:
			return &Error{Kind: ErrDenied, Err: err, Status: terr.StatusCode,
				Msg: text + " (log in with `berth login` to raise the limit, or pull through a mirror: see docs/registry.md)"}
		}
		return &Error{Kind: ErrRegistry, Err: err, Status: terr.StatusCode,
			Msg: fmt.Sprintf("registry %s: %s", dc.host, text)}
	}
	return &Error{Kind: ErrRegistry, Err: err, Msg: fmt.Sprintf("registry %s: %v", dc.host, err)}
}
