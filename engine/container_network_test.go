package engine

import (
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/stretchr/testify/assert"
)

func TestResolvConf(t *testing.T) {
	host := []byte("nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n")
	// The default bridge: the host's resolvers minus loopback ones.
	assert.Equal(t, "nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n", resolvConf(host, store.ContainerNet{}, false, true))
	// Only loopback resolvers: Docker's fallback.
	assert.Equal(t, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n", resolvConf([]byte("nameserver 127.0.0.53\n"), store.ContainerNet{}, false, true))
	// Host network keeps them; --dns replaces them.
	assert.Equal(t, "nameserver 127.0.0.53\n", resolvConf([]byte("nameserver 127.0.0.53\n"), store.ContainerNet{}, false, false))
	assert.Equal(t, "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n",
		resolvConf(host, store.ContainerNet{DNS: []string{"1.1.1.1"}, DNSSearch: []string{"a.example"}, DNSOptions: []string{"ndots:2"}}, false, true))
	// User networks: the embedded server.
	assert.Equal(t, "nameserver 127.0.0.11\nsearch corp.example\noptions edns0 ndots:0\n", resolvConf(host, store.ContainerNet{}, true, true))
}
