package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseHost(t *testing.T) {
	cases := map[string][2]string{
		"unix:///run/berth.sock":   {"unix", "/run/berth.sock"},
		"/tmp/b.sock":              {"unix", "/tmp/b.sock"},
		"tcp://127.0.0.1:2375":     {"tcp", "127.0.0.1:2375"},
		"tcp://localhost":          {"tcp", "localhost:2375"},
		"tcp://[::1]:2376":         {"tcp", "[::1]:2376"},
		"http://127.0.0.1:2375":    {"tcp", "127.0.0.1:2375"},
		"tcp://berth.example:2376": {"tcp", "berth.example:2376"},
	}
	for host, want := range cases {
		network, addr, err := ParseHost(host)
		require.NoError(t, err, host)
		require.Equal(t, want, [2]string{network, addr}, host)
	}
	for _, bad := range []string{"", "berth.sock", "ssh://host", "unix://", "tcp://"} {
		_, _, err := ParseHost(bad)
		require.Error(t, err, bad)
	}
}
