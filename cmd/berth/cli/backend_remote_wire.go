package cli

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
)

// createRequest is Docker's create request for the engine's options.
func createRequest(o engine.ContainerCreateOptions, stdinOnce bool) *container.CreateRequest {
	cfg := &container.Config{
		Image: o.Image, Cmd: o.Cmd, Env: o.Env, WorkingDir: o.WorkingDir, User: o.User,
		Hostname: o.Hostname, Tty: o.Tty, OpenStdin: o.OpenStdin, StdinOnce: o.OpenStdin && stdinOnce,
		AttachStdin: o.OpenStdin, AttachStdout: true, AttachStderr: true, Labels: o.Labels,
		StopSignal: o.StopSignal, StopTimeout: o.StopTimeout,
	}
	if o.Entrypoint != nil {
		cfg.Entrypoint = o.Entrypoint
		if len(o.Entrypoint) == 0 {
			cfg.Entrypoint = []string{""} // docker's --entrypoint ""
		}
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(o.NetworkMode), Privileged: o.Privileged,
		CapAdd: o.CapAdd, CapDrop: o.CapDrop, SecurityOpt: o.SecurityOpt, GroupAdd: o.GroupAdd,
		ReadonlyRootfs: o.ReadonlyRootfs, AutoRemove: o.AutoRemove,
		Resources: container.Resources{
			Memory: o.Memory, NanoCPUs: o.NanoCPUs,
			CPUShares: o.CPUShares, CpusetCpus: o.CpusetCpus, CpusetMems: o.CpusetMems,
		},
		PidMode: container.PidMode(o.PidMode), UTSMode: container.UTSMode(o.UTSMode), IpcMode: container.IpcMode(o.IpcMode),
		Tmpfs:     o.Tmpfs,
		LogConfig: container.LogConfig{Type: o.LogDriver, Config: o.LogOpts},
		Binds:     o.Binds, VolumesFrom: o.VolumesFrom, Mounts: apiMounts(o.Mounts),
	}
	if o.PidsLimit != 0 {
		pids := o.PidsLimit
		hc.PidsLimit = &pids
	}
	if o.Init {
		init := true
		hc.Init = &init
	}
	return &container.CreateRequest{Config: cfg, HostConfig: hc, NetworkingConfig: applyNetworkRequest(o, cfg, hc)}
}

// AttachRun attaches to a created container, starts it and returns its
// exit code once it ends (with rm: once the daemon removed it).
func (b *remoteBackend) AttachRun(ctx context.Context, id string, rm bool, as attachSpec) (int, error) {
	c := b.c
	stdio, size, restore, err := prepareTerminal(as)
	if err != nil {
		return 0, &ExitError{Code: 125, Err: err}
	}
	defer restore()
	// Once attached, signals go to the container (sig-proxy), not to the
	// requests: berth waits for the container as in-process.
	ctx = context.WithoutCancel(ctx)
	conn, rd, err := c.Attach(ctx, id, stdio.In != nil, true, true)
	if err != nil {
		return 0, &ExitError{Code: 125, Err: err}
	}
	defer conn.Close()
	condition := "next-exit"
	if rm {
		condition = "removed"
	}
	waitC, err := c.Wait(ctx, id, condition)
	if err != nil {
		return 0, &ExitError{Code: 125, Err: err}
	}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		if as.tty {
			_, _ = io.Copy(stdio.Out, rd)
			return
		}
		_ = client.Demux(stdio.Out, stdio.Err, rd)
	}()
	if err := c.StartContainer(ctx, id); err != nil {
		return 0, remoteStartError(err)
	}
	if as.tty && size != [2]uint16{} {
		_ = c.ResizeContainer(ctx, id, size[0], size[1])
	}
	if stdio.In != nil {
		go func() {
			_, _ = io.Copy(conn, stdio.In)
			if cw, ok := conn.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
		}()
	}
	return waitAttached(&remoteAttached{ctx: ctx, c: c, id: id, conn: conn, outDone: outDone, waitC: waitC}, as)
}

// remoteAttached is a container the daemon runs, seen from its attached
// client: waitAttached forwards signals and terminal sizes to it.
type remoteAttached struct {
	ctx     context.Context
	c       *client.Client
	id      string
	conn    net.Conn
	outDone chan struct{}
	waitC   <-chan client.WaitResult
}

func (a *remoteAttached) Wait() (int, error) {
	<-a.outDone
	res := <-a.waitC
	return res.Code, res.Err
}

func (a *remoteAttached) Signal(sig syscall.Signal) error {
	return a.c.KillContainer(a.ctx, a.id, strconv.Itoa(int(sig)))
}

func (a *remoteAttached) Resize(rows, cols uint16) error {
	return a.c.ResizeContainer(a.ctx, a.id, rows, cols)
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
