package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// lease is the content of a lease file <StateDir>/<bridge>/<ip>: the
// container and its PID 1 (with its start time, against PID reuse), whose
// death frees the address.
type lease struct {
	Container string `json:"container"`
	Pid       int    `json:"pid"`
	PidStart  uint64 `json:"pid_start"`
	HostVeth  string `json:"host_veth"`
	// Released is when the container's supervisor gave the address back
	// while the kernel was still removing the veth pair, as it does,
	// asynchronously, once the container's network namespace dies. The
	// address stays taken until the pair is gone (or, after releaseGrace,
	// a sweep deletes it).
	Released time.Time `json:"released,omitzero"`
}

// releaseGrace is how long a sweep leaves a released lease's veth pair to
// the kernel.
const releaseGrace = 10 * time.Second

// leftToKernel reports whether l was released lately and its veth pair is
// still there: the kernel is removing it.
func (l *lease) leftToKernel(now time.Time) bool {
	return !l.Released.IsZero() && now.Sub(l.Released) < releaseGrace && linkExists(l.HostVeth)
}

func linkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

func (l *lease) live() bool {
	if l.Pid <= 0 {
		return false
	}
	start, err := procStart(l.Pid)
	return err == nil && start == l.PidStart
}

// Attach connects the network namespace of process pid to n: a veth pair
// whose host end joins n's bridge and whose other end becomes ifname in
// the namespace, with an address leased from n's subnet and, when
// defaultRoute, the default route through n's gateway. Leases of dead
// containers are taken back first.
func (m *Manager) Attach(n *Network, containerID string, pid int, ifname string, defaultRoute bool) (*Endpoint, error) {
	if n.Driver != "bridge" {
		return nil, fmt.Errorf("network %s: containers join %s networks through their network mode, not Attach", n.Name, n.Driver)
	}
	start, err := procStart(pid)
	if err != nil {
		return nil, fmt.Errorf("network %s: container process %d: %w", n.Name, pid, err)
	}
	unlock, err := m.hostLock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	swept, err := m.sweepOnly()
	if err != nil {
		return nil, err
	}
	ipn, err := n.IPNet()
	if err != nil {
		return nil, err
	}
	br, created, err := ensureBridge(n, ipn)
	if err != nil {
		return nil, err
	}
	// The table is rebuilt only when the set of bridges changed (or it
	// is missing): most starts join an existing bridge.
	if swept || created || !tableExists() {
		if err := syncRules(); err != nil {
			return nil, err
		}
	}
	if !n.Internal {
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
			return nil, fmt.Errorf("enable IP forwarding: %w", err)
		}
	}
	ep := &Endpoint{NetworkID: n.ID, NetworkName: n.Name, Gateway: n.Gateway, Ifname: ifname, HostVeth: "veth" + randomID()[:7]}
	ip, err := m.allocate(n, ipn, lease{Container: containerID, Pid: pid, PidStart: start, HostVeth: ep.HostVeth})
	if err != nil {
		return nil, err
	}
	ep.IP, ep.PrefixLen = ip.String(), prefixLen(ipn)
	// Docker's MAC: 02:42 and the four bytes of the address.
	ep.MAC = net.HardwareAddr{0x02, 0x42, ip[0], ip[1], ip[2], ip[3]}.String()
	// An internal network has no way out: no default route through it.
	if err := plugVeth(ep, br, pid, defaultRoute && !n.Internal); err != nil {
		_ = m.release(n.Bridge, ep)
		return nil, fmt.Errorf("connect container to network %s: %w", n.Name, err)
	}
	return ep, nil
}

// ensureBridge makes n's bridge, with the gateway address, up; created
// says it was missing.
func ensureBridge(n *Network, ipn *net.IPNet) (br netlink.Link, created bool, err error) {
	br, err = netlink.LinkByName(n.Bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, false, fmt.Errorf("network %s: bridge %s: %w", n.Name, n.Bridge, err)
		}
		created = true
		la := netlink.NewLinkAttrs()
		la.Name = n.Bridge
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, false, fmt.Errorf("network %s: create bridge %s: %w", n.Name, n.Bridge, err)
		}
		if br, err = netlink.LinkByName(n.Bridge); err != nil {
			return nil, false, fmt.Errorf("network %s: bridge %s: %w", n.Name, n.Bridge, err)
		}
	}
	alias := bridgeAlias
	if n.Internal {
		alias = bridgeAliasInternal
	}
	if br.Attrs().Alias != alias {
		if err := netlink.LinkSetAlias(br, alias); err != nil {
			return nil, false, fmt.Errorf("network %s: mark bridge %s: %w", n.Name, n.Bridge, err)
		}
		created = true // the rules did not know it as berth's
	}
	gw := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(n.Gateway).To4(), Mask: ipn.Mask}}
	if err := netlink.AddrReplace(br, gw); err != nil {
		return nil, false, fmt.Errorf("network %s: address %s on %s: %w", n.Name, gw.IPNet, n.Bridge, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, false, fmt.Errorf("network %s: bring %s up: %w", n.Name, n.Bridge, err)
	}
	return br, created, nil
}

// deleteBridge removes a bridge device; a missing one is fine.
func deleteBridge(name string) error {
	if name == "" {
		return nil
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

// allocate leases the lowest free address after the gateway.
func (m *Manager) allocate(n *Network, ipn *net.IPNet, l lease) (net.IP, error) {
	dir := filepath.Join(m.StateDir, n.Bridge)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	data, _ := json.Marshal(l)
	ones, bits := ipn.Mask.Size()
	size := uint32(1) << uint(bits-ones)
	gw := net.ParseIP(n.Gateway).To4()
	for i := uint32(1); i < size-1; i++ {
		ip := nthIP(ipn, i)
		if ip.Equal(gw) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, ip.String()), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("network %s: lease %s: %w", n.Name, ip, err)
		}
		_, werr := f.Write(data)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(f.Name())
			return nil, fmt.Errorf("network %s: lease %s: %w", n.Name, ip, werr)
		}
		return ip, nil
	}
	return nil, fmt.Errorf("no available IPv4 addresses on network %s (%s)", n.Name, n.Subnet)
}

// plugVeth makes the veth pair and configures the container's end.
func plugVeth(ep *Endpoint, br netlink.Link, pid int, defaultRoute bool) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open the container's network namespace: %w", err)
	}
	defer ns.Close()
	// The container's end is born in the container's namespace with its
	// final name and Docker's MAC: nothing there can clash with the name,
	// and nothing needs renaming or readdressing.
	mac, err := net.ParseMAC(ep.MAC)
	if err != nil {
		return fmt.Errorf("container interface MAC %q: %w", ep.MAC, err)
	}
	la := netlink.NewLinkAttrs()
	la.Name, la.MasterIndex = ep.HostVeth, br.Attrs().Index
	veth := &netlink.Veth{LinkAttrs: la, PeerName: ep.Ifname, PeerHardwareAddr: mac, PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", ep.HostVeth, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		_ = netlink.LinkDel(veth)
		return fmt.Errorf("bring %s up: %w", ep.HostVeth, err)
	}
	// Only a route socket: with no family named, the handle also opens
	// XFRM and netfilter sockets in the new namespace, whose first use
	// there costs milliseconds (measured: about 8 ms of a 50 ms start).
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		_ = netlink.LinkDel(veth)
		return err
	}
	defer h.Close()
	if err := configurePeer(h, ep, defaultRoute); err != nil {
		_ = netlink.LinkDel(veth)
		return err
	}
	return nil
}

// configurePeer brings lo up (the embedded DNS server listens on it, and
// the init may not have got there yet), addresses the container's end and
// brings it up, with the default route through it when defaultRoute.
func configurePeer(h *netlink.Handle, ep *Endpoint, defaultRoute bool) error {
	if lo, err := h.LinkByName("lo"); err == nil {
		if err := h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("bring lo up: %w", err)
		}
	}
	l, err := h.LinkByName(ep.Ifname)
	if err != nil {
		return fmt.Errorf("find %s in the container: %w", ep.Ifname, err)
	}
	steps := []struct {
		what string
		fn   func() error
	}{
		{"add address", func() error {
			return h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(ep.IP).To4(), Mask: net.CIDRMask(ep.PrefixLen, 32)}})
		}},
		{"bring up", func() error { return h.LinkSetUp(l) }},
	}
	if defaultRoute {
		steps = append(steps, struct {
			what string
			fn   func() error
		}{"default route", func() error {
			return h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(ep.Gateway).To4()})
		}})
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("container interface: %s: %w", s.what, err)
		}
	}
	return nil
}

// Detach removes an endpoint: its veth pair and its lease. When the
// container is gone, the kernel removes the pair with its namespace, and
// the lease stays, released, until it has (sweepOnly).
func (m *Manager) Detach(n *Network, ep *Endpoint) error {
	unlock, err := m.hostLock()
	if err != nil {
		return err
	}
	defer unlock()
	return m.release(n.Bridge, ep)
}

func (m *Manager) release(bridge string, ep *Endpoint) error {
	// The address may be someone else's by now (a disconnect released it
	// already): only our own lease goes.
	path := filepath.Join(m.StateDir, bridge, ep.IP)
	var l lease
	if data, err := os.ReadFile(path); err != nil || json.Unmarshal(data, &l) != nil || l.HostVeth != ep.HostVeth {
		delVeth(ep.HostVeth)
		return nil
	}
	if !l.live() && linkExists(ep.HostVeth) {
		// The container is gone, and its network namespace with it: the
		// kernel is removing the pair. Deleting it here would wait for
		// that (5 to 15 ms measured, with the removal of the container
		// behind it); the address stays taken until the pair is gone.
		l.Released = time.Now()
		data, err := json.Marshal(l)
		if err == nil {
			err = os.WriteFile(path, data, 0o600)
		}
		if err == nil {
			return nil
		}
	}
	delVeth(ep.HostVeth)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release %s: %w", ep.IP, err)
	}
	return nil
}

func delVeth(name string) {
	if l, err := netlink.LinkByName(name); err == nil && strings.HasPrefix(name, "veth") {
		_ = netlink.LinkDel(l)
	}
}

// Sweep takes back the leases (and veths) of containers that no longer
// run — their supervisor was killed — deletes user bridges nobody uses
// (the next container to join recreates them), and rewrites the
// firewall rules when a bridge went or the table is missing.
func (m *Manager) Sweep() error {
	unlock, err := m.hostLock()
	if err != nil {
		return err
	}
	defer unlock()
	changed, err := m.sweepOnly()
	if err != nil {
		return err
	}
	if changed || !tableExists() {
		return syncRules()
	}
	return nil
}

// sweepOnly releases dead leases and unused user bridges; changed says a
// bridge went (so the rules must be rebuilt).
func (m *Manager) sweepOnly() (changed bool, err error) {
	dirs, _ := os.ReadDir(m.StateDir)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(m.StateDir, d.Name())
		ents, _ := os.ReadDir(dir)
		left := 0
		now := time.Now()
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			var l lease
			if err == nil && json.Unmarshal(data, &l) == nil && (l.live() || l.leftToKernel(now)) {
				left++
				continue
			}
			delVeth(l.HostVeth)
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
		if left == 0 && d.Name() != DefaultBridge {
			_ = os.Remove(dir)
			if isBerthBridge(d.Name()) {
				_ = deleteBridge(d.Name())
				changed = true
			}
		}
	}
	return changed, nil
}

// Endpoints lists the live containers holding a lease on n.
func (m *Manager) Endpoints(n *Network) ([]string, error) {
	dir := filepath.Join(m.StateDir, n.Bridge)
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		var l lease
		if err == nil && json.Unmarshal(data, &l) == nil && l.live() {
			ids = append(ids, l.Container)
		}
	}
	return ids, nil
}

// Bridge aliases mark the bridges berth made (IFLA_IFALIAS).
const (
	bridgeAlias         = "berth"
	bridgeAliasInternal = "berth internal"
)

func isBerthBridge(name string) bool {
	l, err := netlink.LinkByName(name)
	return err == nil && l.Type() == "bridge" && strings.HasPrefix(l.Attrs().Alias, bridgeAlias)
}

// bridgeSubnet is the IPv4 subnet of an existing bridge, its address
// being the gateway; nil when it has none.
func bridgeSubnet(name string) *net.IPNet {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil || len(addrs) == 0 {
		return nil
	}
	return addrs[0].IPNet
}

// procStart is a live process's start time (field 22 of /proc/PID/stat).
func procStart(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		// A zombie's namespace is gone already: the address is free.
		return 0, fmt.Errorf("process %d has exited", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
