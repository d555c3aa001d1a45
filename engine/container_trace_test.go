package engine

import (
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/stretchr/testify/require"
)

func TestWithNetAndMounts(t *testing.T) {
	c := &store.Container{Purpose: "run", Mounts: []store.MountPoint{{Type: "bind", Source: "/h", Destination: "/d", RW: false}}}
	c.Host.NetworkMode = "app"
	c.Host.Tmpfs = map[string]string{"/run": "size=1m,ro", "/a": ""}
	c.Net.Networks = []store.NetworkAttachment{{Network: "n1", Name: "app", Aliases: []string{"db"}}}
	c.Net.Publish = []store.PortBinding{{ContainerPort: 80, Proto: "tcp"}}

	// Created: what was asked.
	got := withNetAndMounts(&trace.ContainerInfo{ID: "c"}, c)
	require.Equal(t, "app", got.NetworkMode)
	require.Equal(t, []trace.ContainerNetwork{{Name: "app", Aliases: []string{"db"}}}, got.Networks)
	require.Equal(t, []trace.ContainerPort{{ContainerPort: 80, Proto: "tcp"}}, got.Ports)
	require.Equal(t, []trace.ContainerMount{
		{Type: "bind", Source: "/h", Destination: "/d"},
		{Type: "tmpfs", Destination: "/a", RW: true},
		{Type: "tmpfs", Destination: "/run"},
	}, got.Mounts)

	// Running: what it got.
	c.Net.Endpoints = []store.EndpointState{{NetworkID: "n1", NetworkName: "app", IP: "172.18.0.2"}}
	c.Net.Ports = []store.PortBinding{{ContainerPort: 80, Proto: "tcp", HostPort: 32768}}
	got = withNetAndMounts(&trace.ContainerInfo{ID: "c"}, c)
	require.Equal(t, []trace.ContainerNetwork{{Name: "app", IP: "172.18.0.2", Aliases: []string{"db"}}}, got.Networks)
	require.Equal(t, 32768, got.Ports[0].HostPort)

	// A build step's container: nothing added.
	c.Purpose = "build"
	got = withNetAndMounts(&trace.ContainerInfo{ID: "c"}, c)
	require.Empty(t, got.NetworkMode)
	require.Nil(t, got.Networks)
	require.Nil(t, got.Mounts)
}
