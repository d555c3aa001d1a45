package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/berthkit/berth/daemon/api"
)

// ListenOptions say how Listen guards a socket.
type ListenOptions struct {
	// Group owns a unix socket, by name or GID; "" leaves it root's. The
	// socket's mode is 0660: whoever may use it is root on this machine.
	Group string
	// TLS serves a TCP address over TLS. Without it, Listen accepts only
	// loopback addresses.
	TLS *tls.Config
}

// Listen opens the listener for a --host value.
func Listen(host string, opts ListenOptions) (net.Listener, error) {
	network, addr, err := api.ParseHost(host)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		return listenUnix(addr, opts.Group)
	}
	if opts.TLS == nil {
		if err := requireLoopback(addr); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", host, err)
	}
	if opts.TLS != nil {
		return tls.NewListener(ln, opts.TLS), nil
	}
	return ln, nil
}

// requireLoopback refuses a plain-TCP address other machines could reach:
// the API gives root on this machine to anyone who can connect.
func requireLoopback(addr string) error {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to listen on tcp://%s without TLS: whoever can connect is root on this machine; listen on 127.0.0.1, or give --tls with --tlscert and --tlskey (and --tlscacert to require client certificates)", addr)
}

func listenUnix(path, group string) (net.Listener, error) {
	gid := 0
	if group != "" {
		var err error
		if gid, err = lookupGroup(group); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	// Created owner-only, so nobody connects before the mode is final.
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on unix://%s: %w", path, err)
	}
	if err := os.Chown(path, 0, gid); err != nil && os.Geteuid() == 0 {
		ln.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return ln, nil
}

// removeStaleSocket removes a socket left by a daemon that died; one that
// still answers, or a file that is no socket, is refused.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket: remove it or choose another --host", path)
	}
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		conn.Close()
		return fmt.Errorf("a daemon is already listening on unix://%s: stop it first or choose another --host", path)
	}
	return os.Remove(path)
}

func lookupGroup(group string) (int, error) {
	if n, err := strconv.Atoi(group); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("--group %s: %w", group, err)
	}
	return strconv.Atoi(g.Gid)
}

// TLSConfig loads a server certificate and key; with a CA file, clients
// must present a certificate it signed (Docker's --tlsverify).
func TLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls needs --tlscert and --tlskey")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--tlscacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tlscacert %s: no certificate found", caFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
