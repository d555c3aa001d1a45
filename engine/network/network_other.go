//go:build !linux

package network

import (
	"errors"
	"net"
)

// errNotLinux: container networking is Linux's (namespaces, netlink).
var errNotLinux = errors.New("container networking needs Linux")

func hostRoutes() ([]*net.IPNet, error) { return nil, nil }

func bridgeSubnet(string) *net.IPNet { return nil }

func deleteBridge(string) error { return nil }

func syncRules() error { return nil }

// Attach is Linux-only.
func (m *Manager) Attach(*Network, string, int, string, bool) (*Endpoint, error) {
	return nil, errNotLinux
}

// Detach is Linux-only.
func (m *Manager) Detach(*Network, *Endpoint) error { return errNotLinux }

// Sweep has nothing to do off Linux.
func (m *Manager) Sweep() error { return nil }

// Endpoints: none off Linux.
func (m *Manager) Endpoints(*Network) ([]string, error) { return nil, nil }

// ListenUDPIn is Linux-only.
func ListenUDPIn(int, string) (net.PacketConn, error) { return nil, errNotLinux }

// BridgeRules: none off Linux.
func BridgeRules(string) (int, error) { return 0, nil }

func flock(string) (func(), error) { return nil, errNotLinux }
