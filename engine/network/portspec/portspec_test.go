package portspec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePublish(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []PortBinding
	}{
		{"80", []PortBinding{{ContainerPort: 80, Proto: "tcp"}}},
		{"8080:80", []PortBinding{{ContainerPort: 80, Proto: "tcp", HostPort: 8080}}},
		{"127.0.0.1:8080:80/udp", []PortBinding{{ContainerPort: 80, Proto: "udp", HostIP: "127.0.0.1", HostPort: 8080}}},
		{"127.0.0.1::80", []PortBinding{{ContainerPort: 80, Proto: "tcp", HostIP: "127.0.0.1"}}},
		{"8000-8001:80-81", []PortBinding{{ContainerPort: 80, Proto: "tcp", HostPort: 8000}, {ContainerPort: 81, Proto: "tcp", HostPort: 8001}}},
	} {
		got, err := ParsePublish(tc.spec)
		require.NoError(t, err, tc.spec)
		assert.Equal(t, tc.want, got, tc.spec)
	}
	for spec, msg := range map[string]string{
		"0":             "invalid containerPort: 0",
		"99999:80":      "invalid hostPort: 99999",
		"80/sctp":       "invalid proto: sctp",
		"1.2.3:80:80":   "invalid IP address: 1.2.3",
		"[::1]:80:80":   "berth publishes on IPv4 addresses",
		"8000-8002:80":  "invalid ranges specified",
		"a:b:c:d":       "invalid port format",
		"80-70":         "invalid containerPort",
		"host:80:80:80": "invalid port format",
	} {
		_, err := ParsePublish(spec)
		require.Error(t, err, spec)
		assert.Contains(t, err.Error(), msg, spec)
	}
}

func TestBindingStrings(t *testing.T) {
	b := PortBinding{ContainerPort: 6379, Proto: "tcp", HostPort: 6379}
	assert.Equal(t, "0.0.0.0:6379->6379/tcp", b.String())
	assert.Equal(t, "6379/tcp", b.Key())
	bs := []PortBinding{{ContainerPort: 90, Proto: "tcp"}, {ContainerPort: 80, Proto: "udp"}, {ContainerPort: 80, Proto: "tcp", HostIP: "127.0.0.1"}, {ContainerPort: 80, Proto: "tcp"}}
	SortBindings(bs)
	assert.Equal(t, []PortBinding{{ContainerPort: 80, Proto: "tcp"}, {ContainerPort: 80, Proto: "tcp", HostIP: "127.0.0.1"}, {ContainerPort: 80, Proto: "udp"}, {ContainerPort: 90, Proto: "tcp"}}, bs)
}

func TestParseExposed(t *testing.T) {
	got, err := ParseExposed("7000-7001/udp")
	require.NoError(t, err)
	assert.Equal(t, []string{"7000/udp", "7001/udp"}, got)
	_, err = ParseExposed("x")
	assert.ErrorContains(t, err, "invalid range format for --expose")
}
