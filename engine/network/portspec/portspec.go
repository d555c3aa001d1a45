package portspec

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// PortBinding is one published port: ContainerPort/Proto published on
// HostIP:HostPort. HostPort 0 asks for a free port; HostIP "" is every
// address (0.0.0.0).
type PortBinding struct {
	ContainerPort int    `json:"container_port"`
	Proto         string `json:"proto"`
	HostIP        string `json:"host_ip,omitempty"`
	HostPort      int    `json:"host_port"`
}

// Key is Docker's port key, "80/tcp".
func (p PortBinding) Key() string { return fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto) }

// String is the form docker port and docker ps print: "0.0.0.0:8080->80/tcp".
func (p PortBinding) String() string {
	return fmt.Sprintf("%s->%s", net.JoinHostPort(p.hostIP(), strconv.Itoa(p.HostPort)), p.Key())
}

// HostIPOrAny is HostIP, or 0.0.0.0 when it is every address.
func (p PortBinding) HostIPOrAny() string { return p.hostIP() }

func (p PortBinding) hostIP() string {
	if p.HostIP == "" {
		return "0.0.0.0"
	}
	return p.HostIP
}

// ParsePublish parses a -p value: [[ip:]hostPort:]containerPort[/proto],
// with ranges ("8000-8001:80-81") expanded.
func ParsePublish(spec string) ([]PortBinding, error) {
	rest, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("invalid proto: %s (berth publishes tcp and udp)", proto)
	}
	var ip, host, ctr string
	switch parts := splitHostPort(rest); len(parts) {
	case 1:
		ctr = parts[0]
	case 2:
		host, ctr = parts[0], parts[1]
	case 3:
		ip, host, ctr = parts[0], parts[1], parts[2]
	default:
		return nil, fmt.Errorf("invalid port format for --publish: %s", spec)
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if ip != "" && net.ParseIP(ip) == nil {
		return nil, fmt.Errorf("invalid IP address: %s", ip)
	}
	if ip != "" && net.ParseIP(ip).To4() == nil {
		return nil, fmt.Errorf("invalid IP address %s: berth publishes on IPv4 addresses", ip)
	}
	cLo, cHi, err := portRange(ctr)
	if err != nil {
		return nil, fmt.Errorf("invalid containerPort: %s", ctr)
	}
	hLo, hHi := 0, 0
	if host != "" {
		if hLo, hHi, err = portRange(host); err != nil {
			return nil, fmt.Errorf("invalid hostPort: %s", host)
		}
		if hHi-hLo != cHi-cLo {
			return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", ctr, host)
		}
	}
	var out []PortBinding
	for i := 0; i <= cHi-cLo; i++ {
		b := PortBinding{ContainerPort: cLo + i, Proto: proto, HostIP: ip}
		if hLo != 0 {
			b.HostPort = hLo + i
		}
		out = append(out, b)
	}
	return out, nil
}

// splitHostPort splits on colons, keeping a bracketed IPv6 address whole.
func splitHostPort(s string) []string {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]:"); i > 0 {
			return append([]string{s[:i+1]}, strings.Split(s[i+2:], ":")...)
		}
	}
	return strings.Split(s, ":")
}

func portRange(s string) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 1 || a > 65535 {
		return 0, 0, fmt.Errorf("invalid port %q", s)
	}
	if !isRange {
		return a, a, nil
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a || b > 65535 {
		return 0, 0, fmt.Errorf("invalid port range %q", s)
	}
	return a, b, nil
}

// ParseExposed parses an EXPOSE / --expose value: "80", "80/udp", "8000-8002".
func ParseExposed(spec string) ([]string, error) {
	port, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	lo, hi, err := portRange(port)
	if err != nil {
		return nil, fmt.Errorf("invalid range format for --expose specification: %s", spec)
	}
	var out []string
	for p := lo; p <= hi; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// SortBindings orders bindings as docker port does: by container port,
// then protocol, then host address.
func SortBindings(b []PortBinding) {
	sort.SliceStable(b, func(i, j int) bool {
		if b[i].ContainerPort != b[j].ContainerPort {
			return b[i].ContainerPort < b[j].ContainerPort
		}
		if b[i].Proto != b[j].Proto {
			return b[i].Proto < b[j].Proto
		}
		return b[i].HostIP < b[j].HostIP
	})
}
