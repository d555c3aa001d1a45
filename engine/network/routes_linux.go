package network

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// hostRoutes lists the destinations of the host's IPv4 routes (the
// default route excluded) and its addresses' subnets: a network's subnet
// must overlap none of them.
func hostRoutes() ([]*net.IPNet, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var out []*net.IPNet
	for _, r := range routes {
		if r.Dst != nil && !r.Dst.IP.IsUnspecified() {
			out = append(out, r.Dst)
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err == nil {
		for _, a := range addrs {
			if a.IPNet != nil && !a.IP.IsLoopback() {
				out = append(out, &net.IPNet{IP: a.IP.Mask(a.Mask), Mask: a.Mask})
			}
		}
	}
	return out, nil
}
