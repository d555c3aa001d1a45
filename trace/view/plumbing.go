package view

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/berthkit/berth/trace"
)

// containerPlumbing describes a user container's network, published ports
// and mounts, each as it got them on container.start (addresses, bound host
// ports) or, before a start, as container.create asked.
func containerPlumbing(c *ContainerModel) []string {
	info := *c.Create
	if s := c.Start; s != nil {
		if s.NetworkMode != "" {
			info.NetworkMode = s.NetworkMode
		}
		if len(s.Networks) > 0 {
			info.Networks = s.Networks
		}
		if len(s.Ports) > 0 {
			info.Ports = s.Ports
		}
		if len(s.Mounts) > 0 {
			info.Mounts = s.Mounts
		}
	}
	return plumbingLines(&info)
}

// plumbingLines says what one container event records of the network,
// ports and mounts, one line each ("network app 172.18.0.2", "ports
// 0.0.0.0:6379->6379/tcp", "mounts volume data:/data"); none for a build
// container, which carries none of them.
func plumbingLines(c *trace.ContainerInfo) []string {
	var lines []string
	if n := networkText(c); n != "" {
		lines = append(lines, n)
	}
	if len(c.Ports) > 0 {
		ports := make([]string, len(c.Ports))
		for i, p := range c.Ports {
			ports[i] = portText(p)
		}
		lines = append(lines, "ports "+strings.Join(ports, ", "))
	}
	if len(c.Mounts) > 0 {
		mounts := make([]string, len(c.Mounts))
		for i, m := range c.Mounts {
			mounts[i] = mountText(m)
		}
		lines = append(lines, "mounts "+strings.Join(mounts, ", "))
	}
	return lines
}

func networkText(c *trace.ContainerInfo) string {
	switch c.NetworkMode {
	case "host":
		return "network host (the host's own interfaces)"
	case "none":
		return "network none (loopback only)"
	}
	if len(c.Networks) == 0 {
		if c.NetworkMode == "" {
			return ""
		}
		return "network " + c.NetworkMode
	}
	nets := make([]string, len(c.Networks))
	for i, n := range c.Networks {
		nets[i] = n.Name
		if n.IP != "" {
			nets[i] += " " + n.IP
		}
		if len(n.Aliases) > 0 {
			nets[i] += " (aliases " + strings.Join(n.Aliases, ", ") + ")"
		}
	}
	return "network " + strings.Join(nets, ", ")
}

// portText writes a published port as `docker ps` does (0.0.0.0:6379->6379/tcp);
// a host port still to be chosen at start shows as "(free port)".
func portText(p trace.ContainerPort) string {
	host := p.HostIP
	if host == "" {
		host = "0.0.0.0"
	}
	hostPort := "(free port)"
	if p.HostPort != 0 {
		hostPort = strconv.Itoa(p.HostPort)
	}
	proto := p.Proto
	if proto == "" {
		proto = "tcp"
	}
	return fmt.Sprintf("%s:%s->%d/%s", host, hostPort, p.ContainerPort, proto)
}

// mountText writes a mount as -v would ask for it: volume data:/data,
// bind /src:/app:ro, tmpfs /tmp.
func mountText(m trace.ContainerMount) string {
	var s string
	switch {
	case m.Type == "tmpfs":
		s = "tmpfs " + m.Destination
	case m.Type == "volume" && m.Name != "":
		s = "volume " + m.Name + ":" + m.Destination
	default:
		s = m.Type + " " + m.Source + ":" + m.Destination
	}
	if !m.RW {
		s += ":ro"
	}
	return s
}
