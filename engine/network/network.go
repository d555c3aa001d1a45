// Package network gives containers Docker's networking: a Linux bridge per
// network, a veth pair per container endpoint, addresses from the
// network's subnet, NAT (masquerade) for outbound traffic, isolation
// between networks, a userland proxy for published ports and an embedded
// DNS server for container names.
//
// Definitions live under <root>/networks as JSON, one file per network.
// What belongs to the host's kernel is kept host-wide, under StateDir
// (/run/berth/network), because every store on the host shares the
// kernel: address leases are files <StateDir>/<bridge>/<ip>, created
// exclusively so that two processes never hand out one address, each
// naming the container process holding it; the nftables table "berth" is
// rebuilt from the bridges berth made (marked by their alias). Sweep
// repairs the state when a supervisor was killed.
package network

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/store"
)

// Built-in network names, as Docker's.
const (
	Bridge = "bridge" // the default network; bridge device DefaultBridge
	Host   = "host"   // the host's network namespace
	None   = "none"   // a namespace with only lo

	DefaultBridge = "berth0"
)

var (
	// ErrNotFound: no network by that name or ID.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the name is taken, or the network is in use.
	ErrConflict = errors.New("conflict")
	// ErrNoSubnet: every candidate subnet overlaps a route or a network.
	ErrNoSubnet = errors.New("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
)

// Network is one network's definition.
type Network struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Driver  string            `json:"driver"` // "bridge", "host", "null"
	Created time.Time         `json:"created"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Bridge is the Linux bridge device ("berth0", "br-<id12>").
	Bridge string `json:"bridge,omitempty"`
	// Subnet and Gateway, e.g. "172.17.0.0/16" and "172.17.0.1".
	Subnet  string `json:"subnet,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	// Internal networks have no outbound NAT (docker network create --internal).
	Internal bool `json:"internal,omitempty"`
}

// ShortID is the 12-character ID Docker prints.
func (n *Network) ShortID() string { return n.ID[:12] }

// Scope is "local", as Docker's for every local driver.
func (n *Network) Scope() string { return "local" }

// UserDefined reports whether containers on n resolve each other by name
// (Docker gives the default bridge no DNS).
func (n *Network) UserDefined() bool { return n.Driver == "bridge" && n.Name != Bridge }

// IPNet parses Subnet.
func (n *Network) IPNet() (*net.IPNet, error) {
	_, ipn, err := net.ParseCIDR(n.Subnet)
	if err != nil {
		return nil, fmt.Errorf("network %s: subnet %q: %w", n.Name, n.Subnet, err)
	}
	return ipn, nil
}

// Endpoint is a container's attachment to one network: the same record the
// store keeps in the container's network state (HostVeth is the host end of
// the veth pair, Ifname the container's: "eth0", "eth1", ...).
type Endpoint = store.EndpointState

// Manager reads and writes network definitions under a store root.
type Manager struct {
	dir string
	// StateDir holds the host-wide leases and lock.
	StateDir string
	// Routes lists the host's IPv4 routes, for subnet picking; tests set it.
	Routes func() ([]*net.IPNet, error)
}

// New returns the manager of <root>/networks.
func New(root string) *Manager {
	return &Manager{dir: filepath.Join(root, "networks"), StateDir: DefaultStateDir, Routes: hostRoutes}
}

// Dir is where definitions and leases live.
func (m *Manager) Dir() string { return m.dir }

// DefaultStateDir is where the host-wide network state lives.
const DefaultStateDir = "/run/berth/network"

// Lock takes the store's networks lock (a flock, so it dies with its
// process); the caller calls the returned function.
func (m *Manager) Lock() (func(), error) { return flock(m.dir) }

// hostLock takes the host-wide lock over bridges, leases and rules.
func (m *Manager) hostLock() (func(), error) { return flock(m.StateDir) }

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ensureDefaults writes bridge, host and none when missing; the caller
// holds the lock.
func (m *Manager) ensureDefaults() error {
	nets, err := m.read()
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, n := range nets {
		have[n.Name] = true
	}
	for _, d := range []struct{ name, driver string }{{Bridge, "bridge"}, {Host, "host"}, {None, "null"}} {
		if have[d.name] {
			continue
		}
		n := &Network{ID: randomID(), Name: d.name, Driver: d.driver, Created: time.Now().UTC()}
		if d.name == Bridge {
			n.Bridge = DefaultBridge
			if sub := bridgeSubnet(DefaultBridge); sub != nil {
				// Another store on this host made it: share it.
				n.Subnet, n.Gateway = sub.IP.Mask(sub.Mask).String()+"/"+fmt.Sprint(prefixLen(sub)), sub.IP.String()
			} else if err := m.pickSubnet(n, nets, []string{"172.17.0.0/16", "10.88.0.0/16"}); err != nil {
				return err
			}
		}
		if err := m.write(n); err != nil {
			return err
		}
		nets = append(nets, n)
	}
	return nil
}

// candidates are the pools user networks take subnets from, as Docker's
// default address pools (172.17-31, then 192.168.x).
func candidates() []string {
	var c []string
	for i := 18; i <= 31; i++ {
		c = append(c, fmt.Sprintf("172.%d.0.0/16", i))
	}
	for i := 0; i < 256; i += 16 {
		c = append(c, fmt.Sprintf("192.168.%d.0/20", i))
	}
	return c
}

// pickSubnet gives n the first candidate that overlaps neither a host
// route nor another network.
func (m *Manager) pickSubnet(n *Network, others []*Network, cands []string) error {
	var taken []*net.IPNet
	if m.Routes != nil {
		routes, err := m.Routes()
		if err != nil {
			return err
		}
		taken = append(taken, routes...)
	}
	for _, o := range others {
		if ipn, err := o.IPNet(); err == nil && o.Subnet != "" {
			taken = append(taken, ipn)
		}
	}
	for _, c := range cands {
		_, ipn, _ := net.ParseCIDR(c)
		if !overlapsAny(ipn, taken) {
			n.Subnet = ipn.String()
			n.Gateway = nthIP(ipn, 1).String()
			return nil
		}
	}
	return ErrNoSubnet
}

func overlapsAny(a *net.IPNet, list []*net.IPNet) bool {
	for _, b := range list {
		if a.Contains(b.IP) || b.Contains(a.IP) {
			return true
		}
	}
	return false
}

// nthIP is the subnet's base address plus n.
func nthIP(ipn *net.IPNet, n uint32) net.IP {
	ip := ipn.IP.To4()
	v := uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
	v += n
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).To4()
}

func (m *Manager) path(id string) string { return filepath.Join(m.dir, id+".json") }

func (m *Manager) write(n *Network) error {
	data, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	if err := store.WriteFileReplace(m.path(n.ID), data, 0o600); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	return nil
}

// read loads every definition, sorted by name.
func (m *Manager) read() ([]*Network, error) {
	ents, err := os.ReadDir(m.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("networks: %w", err)
	}
	var nets []*Network
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(m.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("networks: %w", err)
		}
		n := &Network{}
		if err := json.Unmarshal(data, n); err != nil || len(n.ID) != 64 {
			return nil, fmt.Errorf("networks: %s is corrupt: remove it", e.Name())
		}
		nets = append(nets, n)
	}
	sort.Slice(nets, func(i, j int) bool { return nets[i].Name < nets[j].Name })
	return nets, nil
}

// List returns every network (the built-in ones included), by name.
func (m *Manager) List() ([]*Network, error) {
	unlock, err := m.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := m.ensureDefaults(); err != nil {
		return nil, err
	}
	return m.read()
}

// Get finds a network by full name, full ID or unique ID prefix, as Docker.
func (m *Manager) Get(ref string) (*Network, error) {
	nets, err := m.List()
	if err != nil {
		return nil, err
	}
	return find(nets, ref)
}

func find(nets []*Network, ref string) (*Network, error) {
	for _, n := range nets {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
	}
	var match *Network
	for _, n := range nets {
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			if match != nil {
				return nil, fmt.Errorf("network %s is ambiguous (%d matches found based on ID prefix)", ref, 2)
			}
			match = n
		}
	}
	if match == nil {
		return nil, fmt.Errorf("network %s %w", ref, ErrNotFound)
	}
	return match, nil
}

// CreateOptions are docker network create's.
type CreateOptions struct {
	Driver   string // "" or "bridge"
	Subnet   string // "" picks one
	Gateway  string // "" is the subnet's first address
	Internal bool
	Labels   map[string]string
}

// Create defines a bridge network; its bridge device appears when a
// container first joins it.
func (m *Manager) Create(name string, o CreateOptions) (*Network, error) {
	if o.Driver != "" && o.Driver != "bridge" {
		return nil, fmt.Errorf("plugin %q not found: berth offers the bridge driver", o.Driver)
	}
	if name == "" || !validName(name) {
		return nil, fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	unlock, err := m.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := m.ensureDefaults(); err != nil {
		return nil, err
	}
	nets, err := m.read()
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		if n.Name == name {
			return nil, fmt.Errorf("network with name %s already exists: %w", name, ErrConflict)
		}
	}
	n := &Network{ID: randomID(), Name: name, Driver: "bridge", Created: time.Now().UTC(), Labels: o.Labels, Internal: o.Internal}
	n.Bridge = "br-" + n.ID[:12]
	if err := setSubnet(m, n, nets, o); err != nil {
		return nil, err
	}
	if err := m.write(n); err != nil {
		return nil, err
	}
	return n, nil
}

func setSubnet(m *Manager, n *Network, nets []*Network, o CreateOptions) error {
	if o.Subnet == "" {
		if o.Gateway != "" {
			return errors.New("--gateway needs --subnet")
		}
		return m.pickSubnet(n, nets, candidates())
	}
	ip, ipn, err := net.ParseCIDR(o.Subnet)
	if err != nil || ip.To4() == nil {
		return fmt.Errorf("invalid subnet %s: give an IPv4 CIDR such as 172.30.0.0/16", o.Subnet)
	}
	if ones, _ := ipn.Mask.Size(); ones > 30 {
		return fmt.Errorf("invalid subnet %s: it is too small, use /30 or larger", o.Subnet)
	}
	for _, other := range nets {
		if oipn, err := other.IPNet(); err == nil && other.Subnet != "" && overlapsAny(ipn, []*net.IPNet{oipn}) {
			return fmt.Errorf("invalid pool request: Pool overlaps with other one on this address space: %w", ErrConflict)
		}
	}
	n.Subnet, n.Gateway = ipn.String(), nthIP(ipn, 1).String()
	if o.Gateway != "" {
		gw := net.ParseIP(o.Gateway)
		if gw == nil || !ipn.Contains(gw) {
			return fmt.Errorf("invalid gateway %s: it must be an address in %s", o.Gateway, ipn)
		}
		n.Gateway = gw.String()
	}
	return nil
}

func validName(s string) bool {
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == '-')
		if !ok {
			return false
		}
	}
	return true
}

// Remove deletes a user-defined network's definition, leases dir and
// bridge; the caller has checked that no container uses it.
func (m *Manager) Remove(n *Network) error {
	if n.Name == Bridge || n.Name == Host || n.Name == None {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name)
	}
	unlock, err := m.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(m.path(n.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	hunlock, err := m.hostLock()
	if err != nil {
		return err
	}
	defer hunlock()
	_ = os.RemoveAll(filepath.Join(m.StateDir, n.Bridge))
	if err := deleteBridge(n.Bridge); err != nil {
		return err
	}
	return syncRules()
}

func prefixLen(ipn *net.IPNet) int { ones, _ := ipn.Mask.Size(); return ones }
