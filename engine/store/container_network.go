package store

// ContainerNet is a container's networking: what was asked at create
// (ports, networks, DNS) and, while it runs, what it got (Endpoints,
// Ports).
type ContainerNet struct {
	// Publish are the -p bindings; HostPort 0 takes a free port.
	Publish []PortBinding `json:"publish,omitempty"`
	// PublishAll publishes every exposed port on a free port (-P).
	PublishAll bool `json:"publish_all,omitempty"`
	// Exposed are the image's EXPOSE ports and --expose, "80/tcp".
	Exposed []string `json:"exposed,omitempty"`
	// Networks are the bridge networks to join, the first one giving the
	// default route (its name is HostConfig.NetworkMode).
	Networks   []NetworkAttachment `json:"networks,omitempty"`
	DNS        []string            `json:"dns,omitempty"`
	DNSSearch  []string            `json:"dns_search,omitempty"`
	DNSOptions []string            `json:"dns_options,omitempty"`
	// ExtraHosts are --add-host entries, "name:ip".
	ExtraHosts []string `json:"extra_hosts,omitempty"`

	// Endpoints and Ports are the running container's: its addresses
	// and the host ports actually bound. Cleared at exit.
	Endpoints []EndpointState `json:"endpoints,omitempty"`
	Ports     []PortBinding   `json:"ports,omitempty"`
}

// NetworkAttachment is one network a container joins.
type NetworkAttachment struct {
	Network string   `json:"network"` // the network's ID
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

// EndpointState is a running container's address on one network.
type EndpointState struct {
	NetworkID   string `json:"network_id"`
	NetworkName string `json:"network_name"`
	IP          string `json:"ip"`
	PrefixLen   int    `json:"prefix_len"`
	Gateway     string `json:"gateway"`
	MAC         string `json:"mac"`
	HostVeth    string `json:"host_veth"`
	Ifname      string `json:"ifname"`
}

// PortBinding is one published port.
type PortBinding struct {
	ContainerPort int    `json:"container_port"`
	Proto         string `json:"proto"`
	HostIP        string `json:"host_ip,omitempty"`
	HostPort      int    `json:"host_port"`
}
