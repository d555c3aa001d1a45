package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/berthkit/berth/engine/network"
	"github.com/berthkit/berth/engine/store"
)

// ErrNetworkInUse: network rm of a network with running containers.
var ErrNetworkInUse = errors.New("has active endpoints")

// NetworkContainers lists the containers attached to n: its running
// endpoints first, then containers configured to join it.
func (e *Engine) NetworkContainers(n *network.Network) ([]*store.Container, error) {
	all, err := e.ListContainers(context.Background(), true)
	if err != nil {
		return nil, err
	}
	var out []*store.Container
	for _, c := range all {
		if c.Host.NetworkMode == n.Name && (n.Name == network.Host || n.Name == network.None) {
			out = append(out, c)
			continue
		}
		if slices.ContainsFunc(c.Net.Networks, func(a store.NetworkAttachment) bool { return a.Network == n.ID }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// RemoveNetwork removes a user-defined network (docker network rm); one
// that a running container uses is refused, as Docker does.
func (e *Engine) RemoveNetwork(ctx context.Context, ref string) error {
	mgr := e.Networks()
	n, err := mgr.Get(ref)
	if err != nil {
		return err
	}
	if n.Name == network.Bridge || n.Name == network.Host || n.Name == network.None {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name)
	}
	e.sweepNetworks()
	cs, err := e.NetworkContainers(n)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.State.Running() {
			return fmt.Errorf("error while removing network: network %s id %s %w", n.Name, n.ID, ErrNetworkInUse)
		}
	}
	return mgr.Remove(n)
}

// PruneNetworks removes the user-defined networks no container uses.
func (e *Engine) PruneNetworks(ctx context.Context) ([]string, error) {
	nets, err := e.Networks().List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range nets {
		if !n.UserDefined() {
			continue
		}
		cs, err := e.NetworkContainers(n)
		if err != nil || len(cs) > 0 {
			continue
		}
		if err := e.Networks().Remove(n); err == nil {
			removed = append(removed, n.Name)
		}
	}
	return removed, nil
}

// ConnectNetwork joins a container to a network (docker network
// connect). A running container gets its interface at once; its
// embedded DNS server (if it started on a user network) reads the
// record on every query, so it knows the new network's names too.
func (e *Engine) ConnectNetwork(ctx context.Context, ref, containerRef string, aliases []string) error {
	n, err := e.Networks().Get(ref)
	if err != nil {
		return err
	}
	c, err := e.container(containerRef)
	if err != nil {
		return err
	}
	if n.Driver != "bridge" || c.Host.NetworkMode == network.Host || c.Host.NetworkMode == network.None {
		return fmt.Errorf("container cannot be disconnected from host network or connected to host network")
	}
	if !n.UserDefined() && len(aliases) > 0 {
		return errors.New("network-scoped alias is supported only for containers in user defined networks")
	}
	if slices.ContainsFunc(c.Net.Networks, func(a store.NetworkAttachment) bool { return a.Network == n.ID }) {
		return fmt.Errorf("endpoint with name %s already exists in network %s: %w", c.Name, n.Name, store.ErrConflict)
	}
	var ep *network.Endpoint
	if c.State.Running() {
		ep, err = e.Networks().Attach(n, c.ID, c.State.Pid, fmt.Sprintf("eth%d", len(c.Net.Networks)), false)
		if err != nil {
			return err
		}
	}
	_, err = e.Store.UpdateContainer(c.ID, func(c *store.Container) error {
		c.Net.Networks = append(c.Net.Networks, store.NetworkAttachment{Network: n.ID, Name: n.Name, Aliases: aliases})
		if ep != nil {
			c.Net.Endpoints = append(c.Net.Endpoints, *ep)
		}
		return nil
	})
	return err
}

// DisconnectNetwork takes a container off a network (docker network
// disconnect).
func (e *Engine) DisconnectNetwork(ctx context.Context, ref, containerRef string, force bool) error {
	n, err := e.Networks().Get(ref)
	if err != nil {
		return err
	}
	c, err := e.container(containerRef)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(c.Net.Networks, func(a store.NetworkAttachment) bool { return a.Network == n.ID })
	if i < 0 {
		return fmt.Errorf("container %s is not connected to network %s", c.ShortID(), n.Name)
	}
	for _, ep := range c.Net.Endpoints {
		if ep.NetworkID == n.ID {
			if err := e.Networks().Detach(n, &ep); err != nil {
				return err
			}
		}
	}
	_, err = e.Store.UpdateContainer(c.ID, func(c *store.Container) error {
		c.Net.Networks = slices.DeleteFunc(c.Net.Networks, func(a store.NetworkAttachment) bool { return a.Network == n.ID })
		c.Net.Endpoints = slices.DeleteFunc(c.Net.Endpoints, func(ep store.EndpointState) bool { return ep.NetworkID == n.ID })
		// Off its last network the mode stays (as Docker's
		// HostConfig.NetworkMode): the next connect or start joins it
		// again. docker-compose disconnects and reconnects every
		// container it creates.
		if c.Host.NetworkMode == n.Name && len(c.Net.Networks) > 0 {
			c.Host.NetworkMode = c.Net.Networks[0].Name
		}
		return nil
	})
	return err
}
