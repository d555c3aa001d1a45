package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
)

// Client mode: with --host (or BERTH_HOST) the verbs written against
// backend (backend.go) talk to a berth daemon through remoteBackend instead
// of opening the engine. They print what the in-process verb prints; the
// daemon does the work. This file holds the connection and stream helpers.

// remoteClient connects to g.host. TLS, as Docker's client: BERTH_TLS_VERIFY
// or BERTH_CERT_PATH (ca.pem, cert.pem, key.pem; default ~/.berth).
func remoteClient(g *globalOptions) (*client.Client, error) {
	opts := client.Options{UserAgent: "berth/" + engine.Version}
	certPath := os.Getenv("BERTH_CERT_PATH")
	if certPath != "" || os.Getenv("BERTH_TLS_VERIFY") != "" {
		if certPath == "" {
			home, _ := os.UserHomeDir()
			certPath = filepath.Join(home, ".berth")
		}
		cfg, err := clientTLS(certPath, os.Getenv("BERTH_TLS_VERIFY") != "")
		if err != nil {
			return nil, err
		}
		opts.TLS = cfg
	}
	return client.New(g.host, opts)
}

func clientTLS(dir string, verify bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !verify} //nolint:gosec // as DOCKER_TLS_VERIFY unset
	if ca, err := os.ReadFile(filepath.Join(dir, "ca.pem")); err == nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		cfg.RootCAs = pool
	} else if verify {
		return nil, fmt.Errorf("BERTH_TLS_VERIFY: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err == nil {
		cfg.Certificates = []tls.Certificate{cert}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("client certificate in %s: %w", dir, err)
	}
	return cfg, nil
}

// notRemote refuses an option that needs the engine in this process.
func notRemote(option, instead string) error {
	return fmt.Errorf("%s is not available with --host (the engine runs in the daemon): %s", option, instead)
}

// writeStatus prints a pull or push status message as the engine's plain
// progress prints it: "ID: status", or the status alone.
func writeStatus(w io.Writer, m api.Message) {
	if m.Status == "" {
		return
	}
	if m.ID != "" {
		fmt.Fprintf(w, "%s: %s\n", m.ID, m.Status)
		return
	}
	fmt.Fprintln(w, m.Status)
}

// writeStream prints a {"stream": ...} message: what the builder wrote to
// stderr (wrapped in api.StderrStart/End) goes to errOut.
func writeStream(out, errOut io.Writer, text string) {
	if inner, ok := strings.CutPrefix(text, api.StderrStart); ok {
		if inner, ok = strings.CutSuffix(inner, api.StderrEnd); ok {
			io.WriteString(errOut, inner)
			return
		}
	}
	io.WriteString(out, text)
}
