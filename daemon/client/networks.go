package client

import (
	"context"
	"net/http"
	"net/url"
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
