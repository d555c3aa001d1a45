package daemon

import (
	"net/netip"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustPort(t *testing.T, s string) network.Port {
	p, err := network.ParsePort(s)
	require.NoError(t, err)
	return p
}

func TestNetworkCreateOptions(t *testing.T) {
	req := &container.CreateRequest{
		Config: &container.Config{ExposedPorts: network.PortSet{mustPort(t, "6379/tcp"): {}}},
		HostConfig: &container.HostConfig{
			NetworkMode: "app",
			PortBindings: network.PortMap{
				mustPort(t, "80/tcp"):  {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}, {HostPort: ""}},
				mustPort(t, "53/udp"):  {{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: "5353"}},
				mustPort(t, "443/tcp"): nil,
			},
			PublishAllPorts: true,
			DNS:             []netip.Addr{netip.MustParseAddr("10.1.1.1")},
			ExtraHosts:      []string{"db:10.0.0.5"},
		},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			"app": {Aliases: []string{"cache"}},
		}},
	}
	var opts engine.ContainerCreateOptions
	require.NoError(t, networkCreateOptions(req, &opts))
	assert.Equal(t, "app", opts.NetworkMode)
	assert.Equal(t, []string{"127.0.0.1:8080:80/tcp", "443/tcp", ":5353:53/udp", "::80/tcp"}, opts.Net.Publish)
	assert.Equal(t, []string{"6379/tcp"}, opts.Net.Expose)
	assert.True(t, opts.Net.PublishAll)
	assert.Equal(t, []string{"10.1.1.1"}, opts.Net.DNS)
	assert.Equal(t, []string{"db:10.0.0.5"}, opts.Net.ExtraHosts)
	assert.Equal(t, []string{"cache"}, opts.Net.Aliases)

	// A second network at create, or a static address, is refused.
	req.NetworkingConfig.EndpointsConfig["other"] = &network.EndpointSettings{}
	assert.ErrorContains(t, networkCreateOptions(req, &engine.ContainerCreateOptions{}), "use network connect for other")
	delete(req.NetworkingConfig.EndpointsConfig, "other")
	req.NetworkingConfig.EndpointsConfig["app"].IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr("172.20.0.9")}
	assert.ErrorContains(t, networkCreateOptions(req, &engine.ContainerCreateOptions{}), "static addresses")
}

func TestNetworkSettings(t *testing.T) {
	c := &store.Container{ID: "0123456789abcdef", Name: "web", Host: store.HostConfig{NetworkMode: "app"},
		State: store.ContainerState{Status: store.StatusRunning, Pid: 1}}
	c.Net = store.ContainerNet{
		Exposed:   []string{"80/tcp", "9000/tcp"},
		Networks:  []store.NetworkAttachment{{Network: "nid", Name: "app", Aliases: []string{"www"}}},
		Endpoints: []store.EndpointState{{NetworkID: "nid", IP: "172.20.0.2", PrefixLen: 16, Gateway: "172.20.0.1", MAC: "02:42:ac:14:00:02", HostVeth: "veth1234567"}},
		Ports:     []store.PortBinding{{ContainerPort: 80, Proto: "tcp", HostPort: 8080}},
	}
	ns := networkSettings(c)
	ep := ns.Networks["app"]
	require.NotNil(t, ep)
	assert.Equal(t, "172.20.0.2", ep.IPAddress.String())
	assert.Equal(t, "172.20.0.1", ep.Gateway.String())
	assert.Equal(t, "02:42:ac:14:00:02", ep.MacAddress.String())
	assert.Equal(t, 16, ep.IPPrefixLen)
	assert.Equal(t, []network.PortBinding{{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: "8080"}}, ns.Ports[mustPort(t, "80/tcp")])
	_, exposed := ns.Ports[mustPort(t, "9000/tcp")]
	assert.True(t, exposed)
	sums := portSummaries(c)
	assert.Len(t, sums, 2)
	assert.Equal(t, uint16(8080), sums[0].PublicPort)
}
