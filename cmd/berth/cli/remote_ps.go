package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
)

// runPsRemote is `berth --host ... ps`: the daemon's containers, filtered
// and printed as runPs does.
func runPsRemote(ctx context.Context, g *globalOptions, opts *psOptions) error {
	match, err := psFilter(opts.filters)
	if err != nil {
		return err
	}
	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	all := opts.all || opts.latest || opts.last >= 0 || len(opts.filters) > 0
	list, err := c.Containers(ctx, all, opts.size, nil)
	if err != nil {
		return err
	}
	var rows []any
	for _, sum := range list {
		ins, err := c.ContainerInspect(ctx, sum.ID)
		if client.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return err
		}
		ct := containerFromInspect(ins)
		if !opts.all && len(opts.filters) > 0 && !hasStatusFilter(opts.filters) && !ct.State.Running() {
			continue
		}
		if !match(ct) {
			continue
		}
		rows = append(rows, &remotePsRow{psRow: &psRow{c: ct, trunc: !opts.noTrunc, size: opts.size}, sum: sum})
	}
	return writePsRows(opts, rows)
}

func parseDockerTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// containerFromInspect rebuilds the store's record from Docker's view, for
// the filters and columns ps shares with the in-process listing.
func containerFromInspect(ins *container.InspectResponse) *store.Container {
	c := &store.Container{
		ID:      ins.ID,
		Name:    strings.TrimPrefix(ins.Name, "/"),
		Created: parseDockerTime(ins.Created),
		Image:   ins.Image,
	}
	if cfg := ins.Config; cfg != nil {
		c.ImageRef = cfg.Image
		c.Config = store.ContainerConfig{
			Hostname: cfg.Hostname, User: cfg.User, Env: cfg.Env, Cmd: cfg.Cmd, Entrypoint: cfg.Entrypoint,
			WorkingDir: cfg.WorkingDir, Labels: cfg.Labels, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin, StopSignal: cfg.StopSignal,
		}
	}
	if hc := ins.HostConfig; hc != nil {
		c.Host.NetworkMode = string(hc.NetworkMode)
		c.Host.AutoRemove = hc.AutoRemove
	}
	if st := ins.State; st != nil {
		c.State = store.ContainerState{
			Status: string(st.Status), Pid: st.Pid, ExitCode: st.ExitCode, ExitKnown: true, Error: st.Error,
			OOMKilled: st.OOMKilled, StartedAt: parseDockerTime(st.StartedAt), FinishedAt: parseDockerTime(st.FinishedAt),
		}
	}
	return c
}

// remotePsRow is psRow with the columns that need the store taken from the
// daemon's summary.
type remotePsRow struct {
	*psRow
	sum container.Summary
}

func (r *remotePsRow) Image() string {
	c := r.c
	if c.ImageRef == "" {
		if c.Image == "" {
			return "scratch"
		}
		return shortID(c.Image)
	}
	// The daemon names the image by the reference while it still points
	// at the container's image.
	if r.sum.Image != "" && r.sum.Image != r.sum.ImageID {
		return c.ImageRef
	}
	if r.trunc {
		return shortID(c.Image)
	}
	return c.Image
}

func (r *remotePsRow) Status() string { return r.sum.Status }

func (r *remotePsRow) Size() string {
	return fmt.Sprintf("%s (virtual %s)", humanSizePrecision(float64(r.sum.SizeRw), 3), humanSizePrecision(float64(r.sum.SizeRootFs), 3))
}

// MarshalJSON is psRow's, with this row's columns.
func (r *remotePsRow) MarshalJSON() ([]byte, error) {
	size := "0B"
	if r.size {
		size = r.Size()
	}
	return json.Marshal(map[string]string{
		"ID": r.ID(), "Image": r.Image(), "Command": r.Command(), "CreatedAt": r.CreatedAt(),
		"RunningFor": r.RunningFor(), "Ports": r.Ports(), "State": r.State(), "Status": r.Status(),
		"Size": size, "Names": r.Names(), "Labels": r.Labels(), "Mounts": r.Mounts(),
		"Networks": r.Networks(), "LocalVolumes": r.LocalVolumes(),
	})
}
