package network

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"
)

func query(t *testing.T, server net.Addr, name string, typ dnsmessage.Type) dnsmessage.Message {
	t.Helper()
	q := dnsmessage.Message{Header: dnsmessage.Header{ID: 7, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}}}
	data, err := q.Pack()
	require.NoError(t, err)
	c, err := net.Dial("udp4", server.String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(data)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	require.NoError(t, err)
	var m dnsmessage.Message
	require.NoError(t, m.Unpack(buf[:n]))
	assert.Equal(t, uint16(7), m.Header.ID)
	return m
}

func TestDNSAnswersAndForwards(t *testing.T) {
	// The "host resolver" is a loopback server answering SERVFAIL-free
	// NXDOMAIN to everything, so forwarding is observable.
	up, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer up.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := up.ReadFrom(buf)
			if err != nil {
				return
			}
			var m dnsmessage.Message
			if m.Unpack(buf[:n]) != nil {
				continue
			}
			m.Header.Response, m.Header.RCode = true, dnsmessage.RCodeNameError
			out, _ := m.Pack()
			_, _ = up.WriteTo(out, from)
		}
	}()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	s := ServeDNS(pc, func(name string) ([]net.IP, bool) {
		if name == "db" {
			return []net.IP{net.ParseIP("172.18.0.2")}, true
		}
		return nil, false
	}, []string{up.LocalAddr().String()})
	defer s.Close()

	m := query(t, pc.LocalAddr(), "DB.", dnsmessage.TypeA)
	require.Len(t, m.Answers, 1)
	assert.Equal(t, [4]byte{172, 18, 0, 2}, m.Answers[0].Body.(*dnsmessage.AResource).A)
	assert.Equal(t, dnsmessage.RCodeSuccess, m.Header.RCode)

	// A known name has no IPv6 address: an empty answer, not a forward.
	m = query(t, pc.LocalAddr(), "db.", dnsmessage.TypeAAAA)
	assert.Empty(t, m.Answers)
	assert.Equal(t, dnsmessage.RCodeSuccess, m.Header.RCode)

	m = query(t, pc.LocalAddr(), "elsewhere.example.", dnsmessage.TypeA)
	assert.Equal(t, dnsmessage.RCodeNameError, m.Header.RCode)
}

func TestDNSServfailWithoutUpstream(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	s := ServeDNS(pc, func(string) ([]net.IP, bool) { return nil, false }, nil)
	defer s.Close()
	m := query(t, pc.LocalAddr(), "x.example.", dnsmessage.TypeA)
	assert.Equal(t, dnsmessage.RCodeServerFailure, m.Header.RCode)
}
