package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
	"github.com/moby/moby/api/types/container"
)

// runRunRemote is `berth --host ... run`: create (pulling a missing image
// as the flags say), attach, wait, start, as docker's client does; the
// daemon runs the container and streams its output back.
func runRunRemote(ctx context.Context, g *globalOptions, opts *runOptions) error {
	fl := &opts.flags
	if fl.tty && fl.interactive && !opts.detach && !isTerminal(opts.stdin) {
		return &ExitError{Code: 1, Err: errors.New("the input device is not a TTY")}
	}
	if fl.traceFile != "" {
		return &ExitError{Code: 125, Err: notRemote("--trace", "record the daemon's events with berth trace follow")}
	}
	c, err := remoteClient(g)
	if err != nil {
		return &ExitError{Code: 125, Err: err}
	}
	defer c.Close()
	req := createRequest(opts.createOpt, !opts.detach && fl.interactive)
	id, err := remoteCreate(ctx, c, fl, opts.createOpt, req, opts.errOut)
	if err != nil {
		return &ExitError{Code: 125, Err: err}
	}
	if opts.detach {
		if err := c.StartContainer(ctx, id); err != nil {
			if fl.rm {
				_ = c.RemoveContainer(context.WithoutCancel(ctx), id, true)
			}
			return remoteStartError(err)
		}
		fmt.Fprintln(opts.out, id)
		return nil
	}
	as := attachSpec{
		tty: fl.tty, interactive: fl.interactive, sigProxy: opts.sigProxy,
		stdin: opts.stdin, out: opts.out, errOut: opts.errOut,
	}
	code, err := remoteAttachRun(ctx, c, id, fl.rm, as)
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: code, Silent: true}
	}
	return nil
}

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

// remoteCreate creates the container, pulling its image as --pull says
// (createContainer's behaviour, with the daemon's store).
func remoteCreate(ctx context.Context, c *client.Client, fl *containerFlags, o engine.ContainerCreateOptions, req *container.CreateRequest, errOut io.Writer) (string, error) {
	pull := func() error {
		body, err := c.Pull(ctx, o.Image, fl.platform)
		if err != nil {
			return err
		}
		defer body.Close()
		return printProgress(body, errOut, fl.quiet)
	}
	if fl.pull == "always" {
		if err := pull(); err != nil {
			return "", err
		}
	}
	resp, err := c.CreateContainer(ctx, o.Name, req)
	if err == nil {
		return resp.ID, nil
	}
	if fl.pull != "missing" || !client.IsNotFound(err) || !strings.HasPrefix(err.Error(), "No such image") {
		return "", err
	}
	fmt.Fprintf(errOut, "Unable to find image '%s' locally\n", familiarName(o.Image))
	if err := pull(); err != nil {
		return "", err
	}
	if resp, err = c.CreateContainer(ctx, o.Name, req); err != nil {
		return "", err
	}
	return resp.ID, nil
}

// remoteStartError is startError for the daemon's answer: its exit code
// when the daemon gives one, else docker's reading of the message.
func remoteStartError(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		code := ce.ExitCode
		if code == 0 {
			switch msg := ce.Message; {
			case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
				code = 127
			case strings.Contains(msg, syscall.EACCES.Error()), strings.Contains(msg, syscall.EISDIR.Error()):
				code = 126
			default:
				code = 125
			}
		}
		return &ExitError{Code: code, Err: errors.New(ce.Message)}
	}
	return &ExitError{Code: 125, Err: err}
}

// remoteAttachRun attaches to a created container, starts it and returns
// its exit code.
func remoteAttachRun(ctx context.Context, c *client.Client, id string, rm bool, as attachSpec) (int, error) {
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
