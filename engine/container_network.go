package engine

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berthkit/berth/engine/network"
	"github.com/berthkit/berth/engine/network/portspec"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/internal/plainfile"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// NetworkOptions are docker run's network flags.
type NetworkOptions struct {
	Publish    []string // -p specs
	PublishAll bool     // -P
	Expose     []string // --expose
	Aliases    []string // --network-alias
	DNS        []string
	DNSSearch  []string
	DNSOptions []string
	ExtraHosts []string // --add-host name:ip
}

// Networks is the store's network manager.
func (e *Engine) Networks() *network.Manager {
	m := network.New(e.Root())
	if ok, _ := runtime.Rootless(); ok {
		// The host-wide state under /run is root's; a rootless store
		// keeps its own (it cannot make bridges on the host anyway).
		m.StateDir = filepath.Join(e.Root(), "network-state")
	}
	return m
}

// configureNetwork resolves the network mode and the network flags into
// c's record; nothing is set up until the container starts.
func (e *Engine) configureNetwork(c *store.Container, mode string, o NetworkOptions, img ocispec.ImageConfig) error {
	for _, h := range o.ExtraHosts {
		name, ip, ok := strings.Cut(h, ":")
		if !ok || name == "" || (net.ParseIP(ip) == nil && ip != "host-gateway") {
			return fmt.Errorf("invalid argument %q for \"--add-host\" flag: invalid IP address in add-host: %q", h, ip)
		}
	}
	for _, d := range o.DNS {
		if net.ParseIP(d) == nil {
			return fmt.Errorf("invalid argument %q for \"--dns\" flag: %s is not an ip address", d, d)
		}
	}
	c.Net = store.ContainerNet{PublishAll: o.PublishAll, DNS: o.DNS, DNSSearch: o.DNSSearch, DNSOptions: o.DNSOptions, ExtraHosts: o.ExtraHosts}
	exposed := map[string]bool{}
	for p := range img.ExposedPorts {
		exposed[normalizePort(p)] = true
	}
	for _, x := range o.Expose {
		ports, err := portspec.ParseExposed(x)
		if err != nil {
			return err
		}
		for _, p := range ports {
			exposed[p] = true
		}
	}
	for _, spec := range o.Publish {
		bs, err := portspec.ParsePublish(spec)
		if err != nil {
			return err
		}
		for _, b := range bs {
			c.Net.Publish = append(c.Net.Publish, store.PortBinding(b))
			exposed[b.Key()] = true
		}
	}
	for p := range exposed {
		c.Net.Exposed = append(c.Net.Exposed, p)
	}
	slices.Sort(c.Net.Exposed)
	switch {
	case mode == "" || mode == "default":
		mode = network.Bridge
	case strings.HasPrefix(mode, "container:"):
		return fmt.Errorf("--network %s: sharing another container's network is not supported by berth; use a user-defined network (berth network create) so containers reach each other by name", mode)
	}
	c.Host.NetworkMode = mode
	if mode == network.Host || mode == network.None {
		if len(o.Aliases) > 0 {
			return errors.New("network-scoped aliases are only supported for user-defined networks")
		}
		c.Net.Publish, c.Net.PublishAll = nil, false // Docker discards them too
		return nil
	}
	n, err := e.Networks().Get(mode)
	if err != nil {
		return err
	}
	if n.Driver != "bridge" {
		return fmt.Errorf("network %s: container cannot be connected to the %s network together with others", n.Name, n.Name)
	}
	if !n.UserDefined() && len(o.Aliases) > 0 {
		return errors.New("network-scoped alias is supported only for containers in user defined networks")
	}
	c.Host.NetworkMode = n.Name
	c.Net.Networks = []store.NetworkAttachment{{Network: n.ID, Name: n.Name, Aliases: o.Aliases}}
	return nil
}

// normalizePort turns "80" into "80/tcp".
func normalizePort(p string) string {
	if !strings.Contains(p, "/") {
		return p + "/tcp"
	}
	return p
}

// netRun is what a running container's networking holds in its
// supervisor: endpoints, the port proxies and the DNS server. close
// undoes all of it.
type netRun struct {
	e         *Engine
	c         *store.Container
	endpoints []*network.Endpoint
	nets      []*network.Network
	proxies   []*network.Proxy
	dns       *network.DNSServer
	stop      func() // ends rootless mode's pasta
}

// startNetwork prepares spec for c's network mode; for bridge networks
// it returns the netRun that Prestart fills in.
func (e *Engine) startNetwork(c *store.Container, spec *runtime.Spec) (*netRun, error) {
	switch c.Host.NetworkMode {
	case "", network.Host, network.None:
		spec.Network = network.Host
		if c.Host.NetworkMode == network.None {
			spec.Network = network.None
		}
		if e.netFilesFresh(c.ID) {
			return nil, nil
		}
		return nil, e.writeNetFiles(c, nil, nil)
	}
	e.netFiles.Delete(c.ID)
	if ok, _ := runtime.Rootless(); ok {
		return e.startRootlessNetwork(c, spec)
	}
	r := &netRun{e: e, c: c}
	if len(c.Net.Networks) == 0 {
		// Disconnected from every network: start on the mode's network
		// again, as Docker does.
		n, err := e.Networks().Get(c.Host.NetworkMode)
		if err != nil {
			return nil, fmt.Errorf("container %s has no network to join (%w): connect it to one first (berth network connect NETWORK %s)", c.ShortID(), err, c.Name)
		}
		c.Net.Networks = []store.NetworkAttachment{{Network: n.ID, Name: n.Name}}
	}
	for _, att := range c.Net.Networks {
		n, err := e.Networks().Get(att.Network)
		if err != nil {
			return nil, fmt.Errorf("network %s not found: it was removed; connect the container to another network (berth network connect) or recreate it", att.Name)
		}
		r.nets = append(r.nets, n)
	}
	spec.Network = "bridge"
	spec.Prestart = r.attach
	return r, nil
}

// attach runs in Prestart: it plugs the container's namespace into its
// networks and starts the DNS server and the port proxies.
func (r *netRun) attach(pid int) (err error) {
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	mgr := r.e.Networks()
	user := false
	for i, n := range r.nets {
		ep, err := mgr.Attach(n, r.c.ID, pid, fmt.Sprintf("eth%d", i), i == 0)
		if err != nil {
			return err
		}
		r.endpoints = append(r.endpoints, ep)
		user = user || n.UserDefined()
	}
	if user {
		// Only the embedded DNS server forwards upstream: a host, none or
		// default bridge container (every build step) needs no host
		// resolv.conf read here.
		upstream := r.c.Net.DNS
		if len(upstream) == 0 {
			hostConf, _ := plainfile.ReadFile("/etc/resolv.conf")
			upstream = network.Nameservers(hostConf)
		}
		pc, err := network.ListenUDPIn(pid, network.DNSAddr+":53")
		if err != nil {
			return fmt.Errorf("embedded DNS: %w", err)
		}
		r.dns = network.ServeDNS(pc, r.e.resolver(r.c.ID), upstream)
	}
	if err := r.publish(); err != nil {
		return err
	}
	r.c.Net.Endpoints = nil
	for _, ep := range r.endpoints {
		r.c.Net.Endpoints = append(r.c.Net.Endpoints, *ep)
	}
	return r.e.writeNetFiles(r.c, r.endpoints, r.nets)
}

// publish binds every published port (and, with -P, every exposed one)
// and forwards it to the container's first address.
func (r *netRun) publish() error {
	binds := append([]store.PortBinding(nil), r.c.Net.Publish...)
	if r.c.Net.PublishAll {
		for _, x := range r.c.Net.Exposed {
			var b portspec.PortBinding
			if _, err := fmt.Sscanf(x, "%d/%s", &b.ContainerPort, &b.Proto); err != nil || b.Proto == "sctp" {
				continue
			}
			if !slices.ContainsFunc(binds, func(p store.PortBinding) bool { return portspec.PortBinding(p).Key() == x }) {
				binds = append(binds, store.PortBinding(b))
			}
		}
	}
	r.c.Net.Ports = nil
	for _, b := range binds {
		p, err := network.Listen(portspec.PortBinding(b))
		if err != nil {
			return err
		}
		r.proxies = append(r.proxies, p)
		p.Serve(r.endpoints[0].IP)
		r.c.Net.Ports = append(r.c.Net.Ports, store.PortBinding(p.Binding))
	}
	return nil
}

// close stops the proxies and the DNS server and releases the endpoints.
func (r *netRun) close() {
	if r == nil {
		return
	}
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
	for _, p := range r.proxies {
		p.Close()
	}
	r.proxies = nil
	if r.dns != nil {
		r.dns.Close()
		r.dns = nil
	}
	mgr := r.e.Networks()
	for i, ep := range r.endpoints {
		_ = mgr.Detach(r.nets[i], ep)
	}
	r.endpoints = nil
}

// resolver answers names for the container self: the names, aliases and
// short IDs of running containers that share one of its user-defined
// networks — those of its record at query time, so a network connect
// takes effect at once.
func (e *Engine) resolver(self string) network.Resolver {
	return func(name string) ([]net.IP, bool) {
		all, err := e.Store.Containers()
		if err != nil {
			return nil, false
		}
		onNet := map[string]bool{}
		for _, c := range all {
			if c.ID != self {
				continue
			}
			for _, att := range c.Net.Networks {
				if att.Name != network.Bridge {
					onNet[att.Network] = true
				}
			}
		}
		var ips []net.IP
		found := false
		for _, c := range all {
			for _, ep := range c.Net.Endpoints {
				if !onNet[ep.NetworkID] || !answersTo(c, ep.NetworkID, name) {
					continue
				}
				found = true
				if c.State.Running() {
					ips = append(ips, net.ParseIP(ep.IP))
				}
			}
		}
		return ips, found && len(ips) > 0
	}
}

func answersTo(c *store.Container, networkID, name string) bool {
	if strings.EqualFold(c.Name, name) || strings.EqualFold(c.ShortID(), name) || strings.EqualFold(c.Config.Hostname, name) && c.Config.Hostname != c.ShortID() {
		return true
	}
	for _, att := range c.Net.Networks {
		if att.Network == networkID && slices.ContainsFunc(att.Aliases, func(a string) bool { return strings.EqualFold(a, name) }) {
			return true
		}
	}
	return false
}

// writeNetFiles writes the container's /etc/hosts and /etc/resolv.conf
// for its network: its own address and --add-host entries; the embedded
// DNS server on user-defined networks, else the host's resolvers (or
// --dns).
func (e *Engine) writeNetFiles(c *store.Container, eps []*network.Endpoint, nets []*network.Network) error {
	return e.writeNetFilesOver(c, eps, nets, nil)
}

// writeNetFilesOver is writeNetFiles leaving alone a file whose content
// have already holds (name → content: a build step's files written ahead,
// build_stage.go).
func (e *Engine) writeNetFilesOver(c *store.Container, eps []*network.Endpoint, nets []*network.Network, have map[string]string) error {
	dir := e.Store.ContainerDir(c.ID)
	for name, data := range netFileContents(c, eps, nets) {
		if old, ok := have[name]; ok && old == data {
			continue
		}
		if err := rewriteInPlace(filepath.Join(dir, name), data); err != nil {
			return fmt.Errorf("container %s: %w", c.ShortID(), err)
		}
	}
	return nil
}

// netFileContents are the container's hosts and resolv.conf (name →
// content), from its record, endpoints and networks and the host's
// resolv.conf.
func netFileContents(c *store.Container, eps []*network.Endpoint, nets []*network.Network) map[string]string {
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	for _, h := range c.Net.ExtraHosts {
		name, ip, _ := strings.Cut(h, ":")
		if ip == "host-gateway" {
			ip = "127.0.0.1"
			if len(eps) > 0 {
				ip = eps[0].Gateway
			}
		}
		hosts += ip + "\t" + name + "\n"
	}
	if len(eps) > 0 {
		hosts += eps[0].IP + "\t" + c.Config.Hostname + "\n"
	} else {
		hosts += "127.0.1.1\t" + c.Config.Hostname + "\n"
	}
	user := slices.ContainsFunc(nets, (*network.Network).UserDefined)
	hostConf, _ := plainfile.ReadFile(hostResolvConf)
	return map[string]string{"hosts": hosts, "resolv.conf": resolvConf(hostConf, c.Net, user, len(eps) > 0)}
}

// hostResolvConf is the host's resolver configuration, which a container's
// /etc/resolv.conf is derived from (a variable for tests).
var hostResolvConf = "/etc/resolv.conf"

// netFilesFresh reports whether this process wrote the container's hosts
// and resolv.conf at create (prepareContainerDir) and the host's
// resolv.conf has not changed since: then a host or none container's start
// would write the same bytes again, and keeps them as they are. It answers
// yes once per create: a later start (docker start) writes them again.
func (e *Engine) netFilesFresh(id string) bool {
	v, ok := e.netFiles.LoadAndDelete(id)
	if !ok {
		return false
	}
	then := v.(os.FileInfo)
	now, err := os.Stat(hostResolvConf)
	return err == nil && os.SameFile(then, now) && now.ModTime().Equal(then.ModTime()) && now.Size() == then.Size()
}

// rewriteInPlace replaces a file's content keeping its inode: on a bridge
// network the files are written while the container's init may already
// have bind-mounted them as /etc/hosts and /etc/resolv.conf (Prestart), and
// a file renamed over them would not be the one mounted. Nothing is lost
// to a crash halfway: both are written again at every start, before the
// process runs.
func rewriteInPlace(path, data string) error {
	return store.WriteFileInPlace(path, []byte(data), 0o644)
}

// resolvConf derives a container's resolv.conf from the host's, as Docker
// does: on a private network, loopback resolvers of the host cannot be
// reached, so they are dropped (Google's DNS replaces an empty list).
func resolvConf(host []byte, n store.ContainerNet, userNet, private bool) string {
	var servers, search, options []string
	for _, line := range strings.Split(string(host), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if ip := net.ParseIP(f[1]); !private || ip == nil || !ip.IsLoopback() {
				servers = append(servers, f[1])
			}
		case "search", "domain":
			search = f[1:]
		case "options":
			options = append(options, f[1:]...)
		}
	}
	if len(n.DNS) > 0 {
		servers = n.DNS
	}
	if len(n.DNSSearch) > 0 {
		search = n.DNSSearch
	}
	if len(n.DNSOptions) > 0 {
		options = n.DNSOptions
	}
	if userNet {
		servers = []string{network.DNSAddr}
		options = append(options, "ndots:0")
	} else if len(servers) == 0 {
		servers = []string{"8.8.8.8", "8.8.4.4"}
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.String()
}

// sweepNetworks takes back what killed containers left (leases, veths)
// and rewrites the firewall rules; failures only matter to the next
// start, which sweeps again.
func (e *Engine) sweepNetworks() { _ = e.Networks().Sweep() }
