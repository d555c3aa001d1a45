package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/errdefs"
	bnet "github.com/berthkit/berth/engine/network"
	"github.com/berthkit/berth/engine/network/portspec"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// sweepNetworks repairs, at start-up, what killed supervisors left in
// the host's network state (leases, veths, unused bridges).
func (s *Server) sweepNetworks() {
	if os.Geteuid() != 0 {
		return
	}
	if err := s.eng.Networks().Sweep(); err != nil {
		s.logf("network sweep: %v", err)
	}
}

// networkError gives a network error Docker's status.
func networkError(err error) error {
	switch {
	case errors.Is(err, bnet.ErrNotFound):
		return notFoundf("%s", err.Error())
	case errors.Is(err, bnet.ErrConflict), errors.Is(err, engine.ErrNetworkInUse), errors.Is(err, store.ErrConflict):
		return conflictf("%s", err.Error())
	case strings.Contains(err.Error(), "pre-defined network"):
		return classedf(errdefs.Forbidden, "%s", err.Error())
	}
	return invalidUnlessKnown(err)
}

func (s *Server) networkDoc(n *bnet.Network) (network.Inspect, error) {
	doc := network.Inspect{Network: network.Network{
		Name: n.Name, ID: n.ID, Created: n.Created, Scope: n.Scope(), Driver: n.Driver, EnableIPv4: true,
		IPAM:     network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
		Internal: n.Internal, Options: map[string]string{}, Labels: orEmptyMap(n.Labels),
	}, Containers: map[string]network.EndpointResource{}}
	if n.Bridge != "" {
		doc.Options["com.docker.network.bridge.name"] = n.Bridge
	}
	if sub, err := netip.ParsePrefix(n.Subnet); err == nil {
		gw, _ := netip.ParseAddr(n.Gateway)
		doc.IPAM.Config = append(doc.IPAM.Config, network.IPAMConfig{Subnet: sub, Gateway: gw})
	}
	cs, err := s.eng.NetworkContainers(n)
	if err != nil {
		return doc, err
	}
	for _, c := range cs {
		for _, ep := range c.Net.Endpoints {
			if ep.NetworkID != n.ID || !c.State.Running() {
				continue
			}
			ip, _ := netip.ParseAddr(ep.IP)
			mac, _ := parseMAC(ep.MAC)
			doc.Containers[c.ID] = network.EndpointResource{Name: c.Name, EndpointID: ep.HostVeth, MacAddress: mac,
				IPv4Address: netip.PrefixFrom(ip, ep.PrefixLen)}
		}
	}
	return doc, nil
}

func parseMAC(s string) (network.HardwareAddr, error) {
	var mac network.HardwareAddr
	err := mac.UnmarshalText([]byte(s))
	return mac, err
}

// networkList is GET /networks.
func (s *Server) networkList(w *responseWriter, r *request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	match, err := bnet.Filter(filters)
	if err != nil {
		return badRequestf("%s", err.Error())
	}
	nets, err := s.eng.Networks().List()
	if err != nil {
		return err
	}
	out := []network.Summary{}
	for _, n := range nets {
		if !match(n) {
			continue
		}
		doc, err := s.networkDoc(n)
		if err != nil {
			return err
		}
		out = append(out, network.Summary{Network: doc.Network})
	}
	return writeJSON(w, http.StatusOK, out)
}

// networkInspect is GET /networks/{id}.
func (s *Server) networkInspect(w *responseWriter, r *request) error {
	n, err := s.eng.Networks().Get(r.name)
	if err != nil {
		return networkError(err)
	}
	doc, err := s.networkDoc(n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

// networkCreate is POST /networks/create.
func (s *Server) networkCreate(w *responseWriter, r *request) error {
	var req network.CreateRequest
	if err := decodeJSON(r, s.opts.MaxJSON, &req); err != nil {
		return err
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		return badRequestf("IPv6 networks are not supported by berth")
	}
	if req.Scope != "" && req.Scope != "local" || req.Ingress || req.ConfigOnly || req.ConfigFrom != nil {
		return badRequestf("swarm and config-only networks are not supported by berth")
	}
	o := bnet.CreateOptions{Driver: req.Driver, Internal: req.Internal, Labels: req.Labels}
	if req.IPAM != nil {
		if len(req.IPAM.Config) > 1 {
			return badRequestf("berth networks have one subnet")
		}
		if len(req.IPAM.Config) == 1 {
			cfg := req.IPAM.Config[0]
			if cfg.Subnet.IsValid() {
				o.Subnet = cfg.Subnet.String()
			}
			if cfg.Gateway.IsValid() {
				o.Gateway = cfg.Gateway.String()
			}
		}
	}
	n, err := s.eng.Networks().Create(req.Name, o)
	if err != nil {
		return networkError(err)
	}
	return writeJSON(w, http.StatusCreated, network.CreateResponse{ID: n.ID, Warning: ""})
}

// networkDelete is DELETE /networks/{id}.
func (s *Server) networkDelete(w *responseWriter, r *request) error {
	if err := s.eng.RemoveNetwork(r.Context(), r.name); err != nil {
		return networkError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// networkPrune is POST /networks/prune.
func (s *Server) networkPrune(w *responseWriter, r *request) error {
	removed, err := s.eng.PruneNetworks(r.Context())
	if err != nil {
		return err
	}
	sort.Strings(removed)
	return writeJSON(w, http.StatusOK, network.PruneReport{NetworksDeleted: orEmpty(removed)})
}

// networkConnect is POST /networks/{id}/connect.
func (s *Server) networkConnect(w *responseWriter, r *request) error {
	var req network.ConnectRequest
	if err := decodeJSON(r, s.opts.MaxJSON, &req); err != nil {
		return err
	}
	var aliases []string
	if req.EndpointConfig != nil {
		if ipam := req.EndpointConfig.IPAMConfig; ipam != nil && (ipam.IPv4Address.IsValid() || ipam.IPv6Address.IsValid()) {
			return badRequestf("static addresses (--ip) are not supported by berth")
		}
		aliases = req.EndpointConfig.Aliases
	}
	if err := s.eng.ConnectNetwork(r.Context(), r.name, req.Container, aliases); err != nil {
		return networkError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// networkDisconnect is POST /networks/{id}/disconnect.
func (s *Server) networkDisconnect(w *responseWriter, r *request) error {
	var req network.DisconnectRequest
	if err := decodeJSON(r, s.opts.MaxJSON, &req); err != nil {
		return err
	}
	if err := s.eng.DisconnectNetwork(r.Context(), r.name, req.Container, req.Force); err != nil {
		return networkError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// networkCreateOptions reads the network parts of a create request:
// HostConfig.PortBindings, PublishAllPorts, Config.ExposedPorts, DNS,
// ExtraHosts and NetworkingConfig's aliases.
func networkCreateOptions(req *container.CreateRequest, opts *engine.ContainerCreateOptions) error {
	cfg, hc := req.Config, req.HostConfig
	for p := range cfg.ExposedPorts {
		opts.Net.Expose = append(opts.Net.Expose, p.String())
	}
	sort.Strings(opts.Net.Expose)
	if hc == nil {
		return nil
	}
	opts.NetworkMode = string(hc.NetworkMode)
	for port, binds := range hc.PortBindings {
		if len(binds) == 0 {
			opts.Net.Publish = append(opts.Net.Publish, port.String())
		}
		for _, b := range binds {
			ip := ""
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				ip = b.HostIP.String()
			}
			opts.Net.Publish = append(opts.Net.Publish, fmt.Sprintf("%s:%s:%s", ip, b.HostPort, port.String()))
		}
	}
	sort.Strings(opts.Net.Publish)
	opts.Net.PublishAll = hc.PublishAllPorts
	for _, d := range hc.DNS {
		opts.Net.DNS = append(opts.Net.DNS, d.String())
	}
	opts.Net.DNSSearch, opts.Net.DNSOptions, opts.Net.ExtraHosts = hc.DNSSearch, hc.DNSOptions, hc.ExtraHosts
	if nc := req.NetworkingConfig; nc != nil {
		for name, ep := range nc.EndpointsConfig {
			if ep == nil {
				continue
			}
			if name != opts.NetworkMode && !(name == "bridge" && (opts.NetworkMode == "" || opts.NetworkMode == "default")) {
				return badRequestf("berth connects a container to one network at create: use network connect for %s", name)
			}
			if ep.IPAMConfig != nil && (ep.IPAMConfig.IPv4Address.IsValid() || ep.IPAMConfig.IPv6Address.IsValid()) {
				return badRequestf("static addresses (--ip) are not supported by berth")
			}
			opts.Net.Aliases = ep.Aliases
		}
	}
	return nil
}

// networkSettings is inspect's NetworkSettings: published ports and the
// endpoints of a running container.
func networkSettings(c *store.Container) *container.NetworkSettings {
	ns := &container.NetworkSettings{Ports: network.PortMap{}, Networks: map[string]*network.EndpointSettings{}}
	running := c.State.Running()
	for _, x := range c.Net.Exposed {
		if p, err := network.ParsePort(x); err == nil && running {
			ns.Ports[p] = nil
		}
	}
	if running {
		for _, b := range c.Net.Ports {
			p, err := network.ParsePort(strconv.Itoa(b.ContainerPort) + "/" + b.Proto)
			if err != nil {
				continue
			}
			ip, _ := netip.ParseAddr(portspec.PortBinding(b).HostIPOrAny())
			ns.Ports[p] = append(ns.Ports[p], network.PortBinding{HostIP: ip, HostPort: strconv.Itoa(b.HostPort)})
		}
	}
	switch c.Host.NetworkMode {
	case "host", "none":
		ns.Networks[c.Host.NetworkMode] = &network.EndpointSettings{}
		return ns
	}
	for _, att := range c.Net.Networks {
		es := &network.EndpointSettings{NetworkID: att.Network, Aliases: att.Aliases}
		for _, ep := range c.Net.Endpoints {
			if ep.NetworkID == att.Network && running {
				es.EndpointID = ep.HostVeth
				es.IPAddress, _ = netip.ParseAddr(ep.IP)
				es.Gateway, _ = netip.ParseAddr(ep.Gateway)
				es.IPPrefixLen = ep.PrefixLen
				es.MacAddress, _ = parseMAC(ep.MAC)
				es.DNSNames = append([]string{c.Name, c.ShortID()}, att.Aliases...)
			}
		}
		ns.Networks[att.Name] = es
	}
	return ns
}

// portSummaries is /containers/json's Ports.
func portSummaries(c *store.Container) []container.PortSummary {
	out := []container.PortSummary{}
	if !c.State.Running() {
		return out
	}
	seen := map[string]bool{}
	for _, b := range c.Net.Ports {
		ip, _ := netip.ParseAddr(portspec.PortBinding(b).HostIPOrAny())
		out = append(out, container.PortSummary{IP: ip, PrivatePort: uint16(b.ContainerPort), PublicPort: uint16(b.HostPort), Type: b.Proto})
		seen[portspec.PortBinding(b).Key()] = true
	}
	for _, x := range c.Net.Exposed {
		var port uint16
		var proto string
		if _, err := fmt.Sscanf(x, "%d/%s", &port, &proto); err == nil && !seen[x] {
			out = append(out, container.PortSummary{PrivatePort: port, Type: proto})
		}
	}
	return out
}

// inspectNetworkConfig fills inspect's HostConfig.PortBindings,
// PublishAllPorts, DNS settings and Config.ExposedPorts from the record.
func inspectNetworkConfig(resp *container.InspectResponse, c *store.Container) {
	hc := resp.HostConfig
	hc.PortBindings = network.PortMap{}
	for _, b := range c.Net.Publish {
		p, err := network.ParsePort(strconv.Itoa(b.ContainerPort) + "/" + b.Proto)
		if err != nil {
			continue
		}
		var ip netip.Addr
		if b.HostIP != "" {
			ip, _ = netip.ParseAddr(b.HostIP)
		}
		port := ""
		if b.HostPort != 0 {
			port = strconv.Itoa(b.HostPort)
		}
		hc.PortBindings[p] = append(hc.PortBindings[p], network.PortBinding{HostIP: ip, HostPort: port})
	}
	hc.PublishAllPorts = c.Net.PublishAll
	hc.DNSSearch, hc.DNSOptions, hc.ExtraHosts = c.Net.DNSSearch, c.Net.DNSOptions, c.Net.ExtraHosts
	for _, d := range c.Net.DNS {
		if a, err := netip.ParseAddr(d); err == nil {
			hc.DNS = append(hc.DNS, a)
		}
	}
	if len(c.Net.Exposed) > 0 {
		resp.Config.ExposedPorts = network.PortSet{}
		for _, x := range c.Net.Exposed {
			if p, err := network.ParsePort(x); err == nil {
				resp.Config.ExposedPorts[p] = struct{}{}
			}
		}
	}
}
