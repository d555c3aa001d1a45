package network

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/network/portspec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The proxy forwards TCP and UDP between two loopback sockets: the
// "container" here is a listener on 127.0.0.1.
func TestProxyTCP(t *testing.T) {
	backend, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	p, err := Listen(portspec.PortBinding{ContainerPort: backend.Addr().(*net.TCPAddr).Port, Proto: "tcp", HostIP: "127.0.0.1"})
	require.NoError(t, err)
	defer p.Close()
	require.NotZero(t, p.Binding.HostPort)
	p.Serve("127.0.0.1")
	c, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", itoa(p.Binding.HostPort)))
	require.NoError(t, err)
	_, err = c.Write([]byte("round trip"))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "round trip", string(got))

	// A second proxy on the same address is refused with Docker's words.
	_, err = Listen(portspec.PortBinding{ContainerPort: 1, Proto: "tcp", HostIP: "127.0.0.1", HostPort: p.Binding.HostPort})
	assert.ErrorContains(t, err, "port is already allocated")
}

func TestProxyUDP(t *testing.T) {
	backend, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer backend.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := backend.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = backend.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	p, err := Listen(portspec.PortBinding{ContainerPort: backend.LocalAddr().(*net.UDPAddr).Port, Proto: "udp", HostIP: "127.0.0.1"})
	require.NoError(t, err)
	defer p.Close()
	p.Serve("127.0.0.1")
	c, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", itoa(p.Binding.HostPort)))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("datagram"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "echo:datagram", string(buf[:n]))
}

func itoa(i int) string { return strconv.Itoa(i) }
