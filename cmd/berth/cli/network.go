package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/network"
	"github.com/berthkit/berth/engine/network/portspec"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	network2 "github.com/moby/moby/api/types/network"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// netFlags are run/create's network flags besides --network.
type netFlags struct {
	publish    []string
	publishAll bool
	expose     []string
	aliases    []string
	dns        []string
	dnsSearch  []string
	dnsOptions []string
	addHosts   []string
}

func addNetFlags(f *pflag.FlagSet, o *netFlags) {
	stringArrayVarP(f, &o.publish, "publish", "p", "publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/proto])")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "publish all exposed ports to random ports")
	stringArrayVarP(f, &o.expose, "expose", "", "expose a port or a range of ports")
	stringArrayVarP(f, &o.aliases, "network-alias", "", "add network-scoped alias for the container")
	stringArrayVarP(f, &o.dns, "dns", "", "set custom DNS servers")
	stringArrayVarP(f, &o.dnsSearch, "dns-search", "", "set custom DNS search domains")
	stringArrayVarP(f, &o.dnsOptions, "dns-option", "", "set DNS options")
	stringArrayVarP(f, &o.addHosts, "add-host", "", "add a custom host-to-IP mapping (host:ip)")
}

func (o *netFlags) options() engine.NetworkOptions {
	return engine.NetworkOptions{Publish: o.publish, PublishAll: o.publishAll, Expose: o.expose, Aliases: o.aliases,
		DNS: o.dns, DNSSearch: o.dnsSearch, DNSOptions: o.dnsOptions, ExtraHosts: o.addHosts}
}

// warnDiscarded prints Docker's warning when ports are published on a
// network mode that has none of its own.
func (o *netFlags) warnDiscarded(w io.Writer, mode string) {
	if (mode == "host" || mode == "none") && (len(o.publish) > 0 || o.publishAll) {
		fmt.Fprintln(w, "WARNING: Published ports are discarded when using host network mode")
	}
}

// localOnly refuses the network verbs and port with --host: the daemon's
// networks are reached with the docker client (docs/daemon.md).
func localOnly(g *globalOptions, cmd *cobra.Command) error {
	if g.host == "" {
		return nil
	}
	return notRemote("berth "+cmd.CommandPath()[len(cmd.Root().Name())+1:], "use the docker client against the daemon (DOCKER_HOST="+g.host+" docker "+cmd.CommandPath()[len(cmd.Root().Name())+1:]+" ...)")
}

// localEngine is the in-process engine for a verb that only runs locally
// (refused with --host, see localOnly).
func localEngine(g *globalOptions, cmd *cobra.Command) (*engine.Engine, error) {
	if err := localOnly(g, cmd); err != nil {
		return nil, err
	}
	return g.engine()
}

// validate parses the port flags, so that a bad one is refused before
// anything is created, locally or by a daemon.
func (o *netFlags) validate() error {
	for _, p := range o.publish {
		if _, err := portspec.ParsePublish(p); err != nil {
			return err
		}
	}
	for _, x := range o.expose {
		if _, err := portspec.ParseExposed(x); err != nil {
			return err
		}
	}
	return nil
}

// applyNetworkRequest puts the network options into Docker's create
// request, for a daemon (client mode).
func applyNetworkRequest(o engine.ContainerCreateOptions, cfg *container.Config, hc *container.HostConfig) *network2.NetworkingConfig {
	n := o.Net
	if len(n.Publish) > 0 {
		hc.PortBindings, _ = client.PortBindings(n.Publish) // validated by createOptions
	}
	hc.PublishAllPorts = n.PublishAll
	for _, x := range n.Expose {
		ports, _ := portspec.ParseExposed(x)
		for _, s := range ports {
			if p, err := network2.ParsePort(s); err == nil {
				if cfg.ExposedPorts == nil {
					cfg.ExposedPorts = network2.PortSet{}
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		}
	}
	for _, d := range n.DNS {
		if a, err := netip.ParseAddr(d); err == nil {
			hc.DNS = append(hc.DNS, a)
		}
	}
	hc.DNSSearch, hc.DNSOptions, hc.ExtraHosts = n.DNSSearch, n.DNSOptions, n.ExtraHosts
	if len(n.Aliases) == 0 {
		return nil
	}
	return &network2.NetworkingConfig{EndpointsConfig: map[string]*network2.EndpointSettings{
		o.NetworkMode: {Aliases: n.Aliases},
	}}
}

// containerPorts is what docker ps prints in PORTS for a running
// container: published bindings, then exposed ports nobody published.
func containerPorts(c *store.Container) string {
	if !c.State.Running() {
		return ""
	}
	var parts []string
	seen := map[string]bool{}
	bs := make([]portspec.PortBinding, 0, len(c.Net.Ports))
	for _, p := range c.Net.Ports {
		bs = append(bs, portspec.PortBinding(p))
	}
	portspec.SortBindings(bs)
	for _, b := range bs {
		parts = append(parts, b.String())
		seen[b.Key()] = true
	}
	for _, x := range c.Net.Exposed {
		if !seen[x] {
			parts = append(parts, x)
		}
	}
	return strings.Join(parts, ", ")
}

func newPortCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Example: `  berth port web
  berth port web 80/tcp`,
		Args: requireArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := localEngine(g, cmd)
			if err != nil {
				return err
			}
			c, err := eng.Container(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printPorts(cmd.OutOrStdout(), c, args[1:])
		},
	}
}

func printPorts(out io.Writer, c *store.Container, want []string) error {
	bs := []portspec.PortBinding{}
	if c.State.Running() {
		for _, p := range c.Net.Ports {
			bs = append(bs, portspec.PortBinding(p))
		}
	}
	portspec.SortBindings(bs)
	if len(want) == 0 {
		for _, b := range bs {
			fmt.Fprintf(out, "%s -> %s:%d\n", b.Key(), hostIP(b), b.HostPort)
		}
		return nil
	}
	key := want[0]
	if !strings.Contains(key, "/") {
		key += "/tcp"
	}
	found := false
	for _, b := range bs {
		if b.Key() == key {
			fmt.Fprintf(out, "%s:%d\n", hostIP(b), b.HostPort)
			found = true
		}
	}
	if !found {
		return fmt.Errorf("No public port '%s' published for %s", key, c.Name)
	}
	return nil
}

func hostIP(b portspec.PortBinding) string {
	if b.HostIP == "" {
		return "0.0.0.0"
	}
	return b.HostIP
}

func newNetworkCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Long: `Manage networks: bridge networks on which containers reach each other by name
(docs/networking.md).`,
		Args: requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newNetworkCreateCmd(g), newNetworkLsCmd(g), newNetworkInspectCmd(g), newNetworkRmCmd(g),
		newNetworkConnectCmd(g), newNetworkDisconnectCmd(g), newNetworkPruneCmd(g))
	return cmd
}

func newNetworkCreateCmd(g *globalOptions) *cobra.Command {
	var o network.CreateOptions
	var labels []string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := localEngine(g, cmd)
			if err != nil {
				return err
			}
			o.Labels = parseLabels(labels)
			n, err := eng.Networks().Create(args[0], o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), n.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Driver, "driver", "d", "bridge", "driver to manage the network (bridge)")
	f.StringVar(&o.Subnet, "subnet", "", "subnet in CIDR format")
	f.StringVar(&o.Gateway, "gateway", "", "IPv4 gateway for the subnet")
	f.BoolVar(&o.Internal, "internal", false, "restrict external access to the network")
	stringArrayVarP(f, &labels, "label", "", "set metadata on a network")
	return cmd
}

type networkRow struct{ n *network.Network }

func (r networkRow) ID() string        { return r.n.ShortID() }
func (r networkRow) Name() string      { return r.n.Name }
func (r networkRow) Driver() string    { return r.n.Driver }
func (r networkRow) Scope() string     { return r.n.Scope() }
func (r networkRow) Internal() string  { return fmt.Sprint(r.n.Internal) }
func (r networkRow) IPv6() string      { return "false" }
func (r networkRow) CreatedAt() string { return createdAt(r.n.Created) }
func (r networkRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"ID": r.ID(), "Name": r.Name(), "Driver": r.Driver(), "Scope": r.Scope(),
		"Internal": r.Internal(), "IPv6": r.IPv6(), "CreatedAt": r.CreatedAt()})
}

var networkHeaders = map[string]string{"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
	"Internal": "INTERNAL", "IPv6": "IPV6", "CreatedAt": "CREATED AT"}

func newNetworkLsCmd(g *globalOptions) *cobra.Command {
	var quiet bool
	var filters []string
	var format string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := localEngine(g, cmd)
			if err != nil {
				return err
			}
			match, err := network.Filter(filters)
			if err != nil {
				return err
			}
			all, err := eng.Networks().List()
			if err != nil {
				return err
			}
			var nets []*network.Network
			for _, n := range all {
				if match(n) {
					nets = append(nets, n)
				}
			}
			if quiet {
				format = "{{.ID}}"
			}
			lf, err := newListFormat(format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", networkHeaders)
			if err != nil {
				return err
			}
			rows := make([]any, len(nets))
			for i, n := range nets {
				rows[i] = networkRow{n}
			}
			return lf.write(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only display network IDs")
	stringArrayVarP(cmd.Flags(), &filters, "filter", "f", "filter output based on conditions provided (name, id, driver, type, label)")
	cmd.Flags().StringVar(&format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	return cmd
}

// networkJSON is docker network inspect's document.
func networkJSON(eng *engine.Engine, n *network.Network) (map[string]any, error) {
	cs, err := eng.NetworkContainers(n)
	if err != nil {
		return nil, err
	}
	containers := map[string]any{}
	for _, c := range cs {
		for _, ep := range c.Net.Endpoints {
			if ep.NetworkID == n.ID && c.State.Running() {
				containers[c.ID] = map[string]string{"Name": c.Name, "EndpointID": ep.HostVeth, "MacAddress": ep.MAC,
					"IPv4Address": fmt.Sprintf("%s/%d", ep.IP, ep.PrefixLen), "IPv6Address": ""}
			}
		}
	}
	ipam := map[string]any{"Driver": "default", "Options": map[string]string{}, "Config": []map[string]string{}}
	if n.Subnet != "" {
		ipam["Config"] = []map[string]string{{"Subnet": n.Subnet, "Gateway": n.Gateway}}
	}
	labels := n.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	opts := map[string]string{}
	if n.Bridge != "" {
		opts["com.docker.network.bridge.name"] = n.Bridge
	}
	return map[string]any{
		"Name": n.Name, "Id": n.ID, "Created": n.Created.Format(time.RFC3339Nano), "Scope": n.Scope(), "Driver": n.Driver,
		"EnableIPv4": true, "EnableIPv6": false, "IPAM": ipam, "Internal": n.Internal, "Attachable": false, "Ingress": false,
		"ConfigFrom": map[string]string{"Network": ""}, "ConfigOnly": false, "Containers": containers,
		"Options": opts, "Labels": labels,
	}, nil
}

func newNetworkInspectCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := localEngine(g, cmd)
			if err != nil {
				return err
			}
			var docs []any
			var errs []string
			for _, ref := range args {
				n, err := eng.Networks().Get(ref)
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				doc, err := networkJSON(eng, n)
				if err != nil {
					return err
				}
				docs = append(docs, doc)
			}
			if err := printInspect(cmd.OutOrStdout(), format, docs); err != nil {
				return err
			}
			if len(errs) > 0 {
				return errors.New(strings.Join(errs, "\n"))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output using a Go template")
	return cmd
}

func newNetworkRmCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := localEngine(g, cmd)
			if err != nil {
				return err
			}
			var errs []string
			for _, ref := range args {
				err := eng.RemoveNetwork(cmd.Context(), ref)
				if err != nil && !(force && errors.Is(err, network.ErrNotFound)) {
					errs = append(errs, err.Error())
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
			}
			if len(errs) > 0 {
				return errors.New(strings.Join(errs, "\n"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not error if the network does not exist")
	return cmd
}

func newNetworkConnectCmd(g *globalOptions) *cobra.Command {
	var aliases []string
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  requireArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := localEngine(g, cmd)
			if err != nil {
				return err
			}
			return eng.ConnectNetwork(cmd.Context(), args[0], args[1], aliases)
		},
	}
	stringArrayVarP(cmd.Flags(), &aliases, "alias", "", "add network-scoped alias for the container")
	return cmd
}

func newNetworkDisconnectCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  requireArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := localEngine(g, cmd)
			if err != nil {
				return err
			}
			return eng.DisconnectNetwork(cmd.Context(), args[0], args[1], force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the container to disconnect from a network")
	return cmd
}

func newNetworkPruneCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  requireArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if !force {
				fmt.Fprint(out, "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ")
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return nil
				}
			}
			eng, err := localEngine(g, cmd)
			if err != nil {
				return err
			}
			removed, err := eng.PruneNetworks(context.WithoutCancel(cmd.Context()))
			if err != nil {
				return err
			}
			sort.Strings(removed)
			if len(removed) > 0 {
				fmt.Fprintln(out, "Deleted Networks:")
				for _, n := range removed {
					fmt.Fprintln(out, n)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}
