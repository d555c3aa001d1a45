package network

import (
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testManager(t *testing.T, routes ...string) *Manager {
	m := New(t.TempDir())
	m.StateDir = t.TempDir()
	m.Routes = func() ([]*net.IPNet, error) {
		var out []*net.IPNet
		for _, r := range routes {
			_, ipn, err := net.ParseCIDR(r)
			if err != nil {
				return nil, err
			}
			out = append(out, ipn)
		}
		return out, nil
	}
	return m
}

func TestDefaultsAndSubnets(t *testing.T) {
	if bridgeSubnet(DefaultBridge) != nil {
		t.Skip("this host has a berth0 already: the default network adopts its subnet")
	}
	// 172.17/16 and 172.18/16 are routed on the host: both are avoided.
	m := testManager(t, "172.17.0.0/16", "172.18.5.0/24")
	nets, err := m.List()
	require.NoError(t, err)
	var names []string
	for _, n := range nets {
		names = append(names, n.Name+"/"+n.Driver)
	}
	assert.Equal(t, []string{"bridge/bridge", "host/host", "none/null"}, names)
	assert.Equal(t, "10.88.0.0/16", nets[0].Subnet)
	assert.Equal(t, "10.88.0.1", nets[0].Gateway)
	n, err := m.Create("app", CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "172.19.0.0/16", n.Subnet)
	assert.Equal(t, "br-"+n.ID[:12], n.Bridge)
	assert.True(t, n.UserDefined())
	got, err := m.Get(n.ID[:5])
	require.NoError(t, err)
	assert.Equal(t, "app", got.Name)
}

func TestCreateErrors(t *testing.T) {
	m := testManager(t)
	_, err := m.Create("one", CreateOptions{Subnet: "172.30.0.0/16", Gateway: "172.30.0.254"})
	require.NoError(t, err)
	n, err := m.Get("one")
	require.NoError(t, err)
	assert.Equal(t, "172.30.0.254", n.Gateway)
	for _, tc := range []struct {
		name string
		o    CreateOptions
		msg  string
		is   error
	}{
		{"one", CreateOptions{}, "network with name one already exists", ErrConflict},
		{"two", CreateOptions{Subnet: "172.30.1.0/24"}, "Pool overlaps", ErrConflict},
		{"two", CreateOptions{Subnet: "nonsense"}, "invalid subnet nonsense", nil},
		{"two", CreateOptions{Subnet: "10.9.9.0/31"}, "too small", nil},
		{"two", CreateOptions{Subnet: "10.9.0.0/16", Gateway: "10.8.0.1"}, "must be an address in 10.9.0.0/16", nil},
		{"two", CreateOptions{Gateway: "10.8.0.1"}, "--gateway needs --subnet", nil},
		{"two", CreateOptions{Driver: "overlay"}, `plugin "overlay" not found`, nil},
		{"-bad", CreateOptions{}, "invalid network name", nil},
	} {
		_, err := m.Create(tc.name, tc.o)
		require.Error(t, err, tc.msg)
		assert.Contains(t, err.Error(), tc.msg)
		if tc.is != nil {
			assert.True(t, errors.Is(err, tc.is), tc.msg)
		}
	}
	_, err = m.Get("nope")
	assert.True(t, errors.Is(err, ErrNotFound))
	assert.EqualError(t, err, "network nope not found")
	b, err := m.Get(Bridge)
	require.NoError(t, err)
	assert.ErrorContains(t, m.Remove(b), "pre-defined network")
}

func TestNameservers(t *testing.T) {
	assert.Equal(t, []string{"10.0.0.1", "::1"}, Nameservers([]byte("# c\nnameserver 10.0.0.1\nsearch x\nnameserver ::1\n")))
}

func TestFilter(t *testing.T) {
	nets := []*Network{
		{ID: "aaaa" + "0000000000000000000000000000000000000000000000000000000000000000"[:60], Name: "bridge", Driver: "bridge"},
		{ID: "bbbb" + "0000000000000000000000000000000000000000000000000000000000000000"[:60], Name: "host", Driver: "host"},
		{ID: "cccc" + "0000000000000000000000000000000000000000000000000000000000000000"[:60], Name: "app-net", Driver: "bridge", Labels: map[string]string{"team": "web"}},
	}
	names := func(filters ...string) []string {
		match, err := Filter(filters)
		require.NoError(t, err)
		var out []string
		for _, n := range nets {
			if match(n) {
				out = append(out, n.Name)
			}
		}
		return out
	}
	assert.Equal(t, []string{"bridge", "host", "app-net"}, names())
	assert.Equal(t, []string{"app-net"}, names("type=custom"))
	assert.Equal(t, []string{"bridge", "host"}, names("type=builtin"))
	assert.Equal(t, []string{"bridge", "app-net"}, names("driver=bridge"))
	assert.Equal(t, []string{"app-net"}, names("name=app"))
	assert.Equal(t, []string{"host"}, names("id=bbbb"))
	assert.Equal(t, []string{"app-net"}, names("label=team=web"))
	assert.Equal(t, []string{"bridge", "host"}, names("name=bridge", "name=host"))
	for _, bad := range []string{"dangling=true", "type=weird", "name"} {
		_, err := Filter([]string{bad})
		assert.Error(t, err, bad)
	}
}
