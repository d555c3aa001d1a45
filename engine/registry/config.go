package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ConfigFileName is the registries file in a Berth root.
const ConfigFileName = "registries.json"

// SystemConfigPath is read when the root has no registries file.
const SystemConfigPath = "/etc/berth/registries.json"

// Config is what registries.json says, with the keys of Docker's
// daemon.json so a line can be copied from one to the other:
//
//	{
//	  "insecure-registries": ["192.168.1.20:5000", "10.0.0.0/8"],
//	  "registry-mirrors": ["http://192.168.1.20:5000"]
//	}
type Config struct {
	// InsecureRegistries may be reached over plain HTTP, or over HTTPS
	// without verifying the certificate: "host:port" entries match that
	// registry exactly, CIDR entries ("10.0.0.0/8") every registry whose
	// address is inside.
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
	// Mirrors serve Docker Hub's images; pulls of docker.io names try them
	// in order before Docker Hub. "http://host:port" mirrors are reached
	// over plain HTTP without being listed as insecure, as Docker does.
	Mirrors []string `json:"registry-mirrors,omitempty"`

	// Source is the file the config was read from, empty if none.
	Source string `json:"-"`
}

// LoadConfig reads root/registries.json, or /etc/berth/registries.json when
// the root has none. Only the first file found counts: a root's file
// replaces the system one, so a --root can be set up in isolation. No file is
// an empty config, not an error.
func LoadConfig(root string) (Config, error) {
	paths := []string{SystemConfigPath}
	if root != "" {
		paths = append([]string{filepath.Join(root, ConfigFileName)}, paths...)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return Config{}, fmt.Errorf("read registry config: %w", err)
		}
		var cfg Config
		if err := json.Unmarshal(data, &cfg); err != nil {
			return Config{}, fmt.Errorf("registry config %s is not valid JSON (%v): fix it or remove it", path, err)
		}
		cfg.Source = path
		if err := cfg.Validate(); err != nil {
			return Config{}, fmt.Errorf("registry config %s: %w", path, err)
		}
		return cfg, nil
	}
	return Config{}, nil
}

// Validate checks the entries' syntax.
func (c Config) Validate() error {
	for _, entry := range c.InsecureRegistries {
		if entry == "" || strings.Contains(entry, "://") {
			return fmt.Errorf("insecure registry %q: write host:port or a CIDR, without a scheme", entry)
		}
	}
	for _, m := range c.Mirrors {
		if _, err := parseMirror(m); err != nil {
			return err
		}
	}
	return nil
}

// WithInsecure returns a copy of c that also lists hosts as insecure.
func (c Config) WithInsecure(hosts ...string) Config {
	c.InsecureRegistries = append(append([]string(nil), c.InsecureRegistries...), hosts...)
	return c
}

// mirror is a parsed registry-mirrors entry.
type mirror struct {
	Host  string // host[:port]
	Plain bool   // http://
}

func parseMirror(s string) (mirror, error) {
	raw := s
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return mirror{}, fmt.Errorf("registry mirror %q: write a URL such as http://192.168.1.20:5000", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return mirror{}, fmt.Errorf("registry mirror %q: the scheme must be http or https", raw)
	}
	if strings.Trim(u.Path, "/") != "" {
		return mirror{}, fmt.Errorf("registry mirror %q: a mirror is a host, without a path", raw)
	}
	return mirror{Host: u.Host, Plain: u.Scheme == "http"}, nil
}

func (c Config) mirrors() []mirror {
	var out []mirror
	for _, m := range c.Mirrors {
		if p, err := parseMirror(m); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// IsInsecure reports whether Berth may talk to the registry host (host or
// host:port) over plain HTTP, and over HTTPS without verifying its
// certificate: localhost, loopback addresses, the insecure registries and
// http:// mirrors.
func (c Config) IsInsecure(host string) bool {
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	hostname = strings.Trim(hostname, "[]")
	if hostname == "localhost" {
		return true
	}
	ip := net.ParseIP(hostname)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	for _, m := range c.mirrors() {
		if m.Plain && m.Host == host {
			return true
		}
	}
	var nets []*net.IPNet
	for _, entry := range c.InsecureRegistries {
		if _, n, err := net.ParseCIDR(entry); err == nil {
			nets = append(nets, n)
			continue
		}
		if entry == host || entry == hostname {
			return true
		}
	}
	if len(nets) == 0 {
		return false
	}
	ips := []net.IP{ip}
	if ip == nil {
		// Docker resolves names to match them against CIDR entries; so do we,
		// briefly, since a hung resolver must not hang every pull.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, hostname)
		if err != nil {
			return false
		}
		ips = ips[:0]
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, n := range nets {
		for _, ip := range ips {
			if n.Contains(ip) {
				return true
			}
		}
	}
	return false
}
