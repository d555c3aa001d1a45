package api

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultHost is where berth daemon listens and berth --host connects
// unless told otherwise.
const DefaultHost = "unix:///run/berth.sock"

// ParseHost splits a --host value into network and address:
// unix:///run/berth.sock, /run/berth.sock, tcp://127.0.0.1:2375 (the port
// defaults to 2375).
func ParseHost(host string) (network, addr string, err error) {
	if strings.HasPrefix(host, "/") {
		return "unix", host, nil
	}
	u, err := url.Parse(host)
	if err != nil || u.Scheme == "" {
		return "", "", fmt.Errorf("invalid host %q: use unix:///path/to/socket or tcp://127.0.0.1:2375", host)
	}
	switch u.Scheme {
	case "unix":
		p := u.Path
		if p == "" {
			p = u.Opaque
		}
		if p == "" {
			return "", "", fmt.Errorf("invalid host %q: the socket path is missing", host)
		}
		return "unix", p, nil
	case "tcp", "http", "https":
		hostPort := u.Host
		if hostPort == "" {
			return "", "", fmt.Errorf("invalid host %q: the address is missing", host)
		}
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			hostPort = net.JoinHostPort(strings.Trim(hostPort, "[]"), "2375")
		}
		return "tcp", hostPort, nil
	}
	return "", "", fmt.Errorf("invalid host %q: berth speaks unix:// and tcp://", host)
}
