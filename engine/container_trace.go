package engine

import (
	"maps"
	"slices"
	"strings"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

// withNetAndMounts adds c's network mode, networks, published ports and
// mounts to a container event. Before the start (no endpoints yet) it
// records what was asked; once running, the addresses and host ports the
// container got.
func withNetAndMounts(info *trace.ContainerInfo, c *store.Container) *trace.ContainerInfo {
	if c.Purpose != "run" {
		return info // build steps' containers: their network is the build's
	}
	info.NetworkMode = c.Host.NetworkMode
	aliases := map[string][]string{}
	for _, a := range c.Net.Networks {
		aliases[a.Network] = a.Aliases
	}
	if len(c.Net.Endpoints) > 0 {
		for _, ep := range c.Net.Endpoints {
			info.Networks = append(info.Networks, trace.ContainerNetwork{Name: ep.NetworkName, IP: ep.IP, Aliases: aliases[ep.NetworkID]})
		}
	} else {
		for _, a := range c.Net.Networks {
			info.Networks = append(info.Networks, trace.ContainerNetwork{Name: a.Name, Aliases: a.Aliases})
		}
	}
	ports := c.Net.Ports
	if len(ports) == 0 {
		ports = c.Net.Publish
	}
	for _, p := range ports {
		info.Ports = append(info.Ports, trace.ContainerPort(p))
	}
	for _, m := range c.Mounts {
		info.Mounts = append(info.Mounts, trace.ContainerMount{Type: m.Type, Name: m.Name, Source: m.Source, Destination: m.Destination, RW: m.RW})
	}
	// --tmpfs mounts are not in Mounts (as Docker's inspect), but they
	// are mounts all the same.
	for _, dst := range slices.Sorted(maps.Keys(c.Host.Tmpfs)) {
		ro := slices.Contains(strings.Split(c.Host.Tmpfs[dst], ","), "ro")
		info.Mounts = append(info.Mounts, trace.ContainerMount{Type: "tmpfs", Destination: dst, RW: !ro})
	}
	return info
}
