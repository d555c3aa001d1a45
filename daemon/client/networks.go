package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/berthkit/berth/engine/network/portspec"
	dnetwork "github.com/moby/moby/api/types/network"
)

// CreateNetwork creates a bridge network (POST /networks/create) and
// returns its ID.
func (c *Client) CreateNetwork(ctx context.Context, name string) (string, error) {
	in := map[string]any{"Name": name, "Driver": "bridge", "CheckDuplicate": true}
	var out struct {
		ID string `json:"Id"`
	}
	return out.ID, c.postJSON(ctx, "/networks/create", nil, in, &out)
}

// RemoveNetwork removes a network (DELETE /networks/{id}).
func (c *Client) RemoveNetwork(ctx context.Context, name string) error {
	resp, err := c.do(ctx, http.MethodDelete, "/networks/"+escapePath(name), url.Values{}, nil, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// PortBindings turns -p specs into Docker's create request field
// (HostConfig.PortBindings).
func PortBindings(specs []string) (dnetwork.PortMap, error) {
	out := dnetwork.PortMap{}
	for _, spec := range specs {
		bs, err := portspec.ParsePublish(spec)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			p, err := dnetwork.ParsePort(b.Key())
			if err != nil {
				return nil, fmt.Errorf("-p %s: %w", spec, err)
			}
			pb := dnetwork.PortBinding{}
			if b.HostIP != "" {
				pb.HostIP, _ = netip.ParseAddr(b.HostIP)
			}
			if b.HostPort != 0 {
				pb.HostPort = strconv.Itoa(b.HostPort)
			}
			out[p] = append(out[p], pb)
		}
	}
	return out, nil
}

// Logs returns a container's log so far (GET /containers/{id}/logs), both
// streams, in Docker's multiplexed form (Demux reads it).
func (c *Client) Logs(ctx context.Context, id string) (io.ReadCloser, error) {
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}}
	resp, err := c.do(ctx, http.MethodGet, "/containers/"+escapePath(id)+"/logs", q, nil, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
