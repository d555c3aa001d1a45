package daemon

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlainTCPOnlyOnLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:2375", "127.9.9.9:1", "[::1]:2375", "localhost:2375"} {
		require.NoError(t, requireLoopback(ok), ok)
	}
	for _, bad := range []string{"0.0.0.0:2375", "[::]:2375", "10.1.2.3:2375", "berth.example:2375"} {
		err := requireLoopback(bad)
		require.ErrorContains(t, err, "without TLS", bad)
	}
	_, err := Listen("tcp://0.0.0.0:0", ListenOptions{})
	require.ErrorContains(t, err, "refusing to listen")
	ln, err := Listen("tcp://127.0.0.1:0", ListenOptions{})
	require.NoError(t, err)
	ln.Close()
}

func TestUnixSocketIsGroupOnlyAndReplacesStaleOnes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "berth.sock")
	ln, err := Listen("unix://"+path, ListenOptions{})
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o660), fi.Mode().Perm())

	// A second daemon on the same socket is refused while the first runs.
	_, err = Listen("unix://"+path, ListenOptions{})
	require.ErrorContains(t, err, "already listening")
	ln.Close()

	// A socket left by a daemon that died is replaced.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	stale.SetUnlinkOnClose(false)
	stale.Close()
	ln, err = Listen(path, ListenOptions{})
	require.NoError(t, err)
	ln.Close()

	// Not a socket: left alone.
	plain := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(plain, []byte("x"), 0o600))
	_, err = Listen("unix://"+plain, ListenOptions{})
	require.ErrorContains(t, err, "is not a socket")

	_, err = Listen("unix://"+filepath.Join(dir, "g.sock"), ListenOptions{Group: "no-such-group-berth"})
	require.ErrorContains(t, err, "--group no-such-group-berth")
}

func TestTLSConfigNeedsCertAndKey(t *testing.T) {
	_, err := TLSConfig("", "", "")
	require.ErrorContains(t, err, "--tls needs --tlscert and --tlskey")
	_, err = TLSConfig("/nonexistent/cert.pem", "/nonexistent/key.pem", "")
	require.ErrorContains(t, err, "load TLS certificate")
}
