package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/lessons"
	"github.com/berthkit/berth/trace"
	"github.com/moby/moby/api/types/container"
)

// countingReader counts an upload and calls eof once it has all been read.
type countingReader struct {
	r    io.Reader
	n    int64
	once sync.Once
	eof  func(n int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil {
		c.once.Do(func() { c.eof(c.n) })
	}
	return n, err
}

// buildAnswer is what a build's JSON stream says in the end.
type buildAnswer struct {
	Aux *struct {
		ID string `json:"ID"`
	} `json:"aux,omitempty"`
	Error       string `json:"error,omitempty"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail,omitempty"`
}

// Build sends the workspace's context to the daemon as a tar (what the
// notes call the client handing the build to the server) and waits for
// the daemon's trace to show the build's end.
func (b *DaemonBackend) Build(ctx context.Context, workspace string, spec lessons.BuildSpec) error {
	df := spec.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	bctx, err := build.LoadContext(contextDir(workspace, spec), df)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(bctx.WriteTar(pw, df, nil)) }()
	defer pr.Close()
	ended := b.expect(func(ev trace.Event) bool { return ev.Type == trace.BuildEnd })
	answer := b.request("POST", "/build")
	b.gate.Lock()
	var release sync.Once
	open := func() { release.Do(b.gate.Unlock) }
	defer open()
	body := &countingReader{r: pr, eof: func(n int64) {
		b.stamp.Record(trace.Event{Type: trace.ClientUpload, Client: &trace.ClientInfo{
			Host: b.Host, Method: "POST", Path: "/build", Bytes: n, Files: len(bctx.Files)}})
		open()
	}}
	resp, err := b.c.Build(ctx, body, client.BuildOptions{
		Tags: spec.Tags, NoCache: spec.NoCache, Remove: true, Dockerfile: df, NetworkMode: "host"})
	open()
	if err != nil {
		b.drop(ended)
		answer(trace.ClientInfo{}, err)
		return err
	}
	image, berr := readBuildAnswer(resp)
	resp.Close()
	// The answer is recorded after the server's last event, as it comes.
	if err := b.await(ctx, ended, "the build's end"); err != nil {
		return err
	}
	answer(trace.ClientInfo{Image: image, Status: 200}, berr)
	return berr
}

// readBuildAnswer reads the build's JSON stream for the image or the error.
func readBuildAnswer(r io.Reader) (string, error) {
	dec := json.NewDecoder(io.LimitReader(r, 1<<30))
	image := ""
	for {
		var m buildAnswer
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return image, nil
			}
			return image, fmt.Errorf("read the daemon's answer: %w", err)
		}
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return image, errors.New(m.ErrorDetail.Message)
		case m.Error != "":
			return image, errors.New(m.Error)
		case m.Aux != nil && m.Aux.ID != "":
			image = m.Aux.ID
		}
	}
}

// Commit asks the daemon to commit a container.
func (b *DaemonBackend) Commit(ctx context.Context, spec lessons.CommitSpec) error {
	saved := b.expect(func(ev trace.Event) bool { return ev.Type == trace.Image && ev.Build == "" })
	answer := b.request("POST", "/commit")
	opts := client.CommitOptions{Changes: spec.Changes, Pause: true}
	if spec.Ref != "" {
		opts.Repo, opts.Tag = splitRef(spec.Ref)
	}
	id, err := b.c.Commit(ctx, spec.Container, opts)
	if err == nil {
		err = b.await(ctx, saved, "the committed image")
	} else {
		b.drop(saved)
	}
	answer(trace.ClientInfo{Container: spec.Container, Image: id}, err)
	return err
}

// splitRef cuts REPO[:TAG] where the tag's colon is after the last slash.
func splitRef(ref string) (string, string) {
	for i := len(ref) - 1; i >= 0 && ref[i] != '/'; i-- {
		if ref[i] == ':' {
			return ref[:i], ref[i+1:]
		}
	}
	return ref, ""
}

// Run creates a container on the daemon and, unless detached, attaches to
// it, starts it and waits for it; its output becomes output events.
func (b *DaemonBackend) Run(ctx context.Context, spec lessons.RunSpec) error {
	req, err := runRequest(spec)
	if err != nil {
		return err
	}
	answer := b.request("POST", "/containers/create")
	created, err := b.c.CreateContainer(ctx, spec.Name, req)
	if err != nil {
		answer(trace.ClientInfo{}, err)
		return err
	}
	id := created.ID
	err = b.await(ctx, b.seen(containerEvent(trace.ContainerCreate, id)), "container "+id[:12]+" created")
	answer(trace.ClientInfo{Container: id}, err)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.containers = append(b.containers, id)
	b.mu.Unlock()
	if spec.Detach {
		started := b.expect(containerEvent(trace.ContainerStart, id))
		answer := b.request("POST", "/containers/"+id[:12]+"/start")
		err := b.c.StartContainer(ctx, id)
		if err == nil {
			err = b.await(ctx, started, "container "+id[:12]+" started")
		} else {
			b.drop(started)
		}
		answer(trace.ClientInfo{Container: id}, err)
		if err != nil || spec.Ready == "" {
			return err
		}
		return waitReady(ctx, id, spec.Ready, b.logs(id), b.running(id))
	}
	return b.runAttached(ctx, spec, id)
}

func containerEvent(t trace.Type, id string) func(trace.Event) bool {
	return func(ev trace.Event) bool { return ev.Type == t && ev.Container != nil && ev.Container.ID == id }
}

// runRequest is Docker's create request for a lesson's run.
func runRequest(spec lessons.RunSpec) (*container.CreateRequest, error) {
	hc := &container.HostConfig{NetworkMode: container.NetworkMode(runNetworkMode(spec, false)), AutoRemove: spec.Remove}
	cfg := &container.Config{Image: spec.Image, Cmd: spec.Cmd, AttachStdout: true, AttachStderr: true}
	if len(spec.Publish) > 0 {
		ports, err := client.PortBindings(spec.Publish)
		if err != nil {
			return nil, err
		}
		hc.PortBindings = ports
	}
	return &container.CreateRequest{Config: cfg, HostConfig: hc}, nil
}

func (b *DaemonBackend) runAttached(ctx context.Context, spec lessons.RunSpec, id string) error {
	last := trace.ContainerExit
	if spec.Remove {
		last = trace.ContainerRemove
	}
	ended := b.expect(containerEvent(last, id))
	defer b.drop(ended)
	stdout := &trace.OutputWriter{Record: b.stamp.Record, Container: id, Stream: "stdout"}
	stderr := &trace.OutputWriter{Record: b.stamp.Record, Container: id, Stream: "stderr"}
	conn, rd, err := b.c.Attach(ctx, id, false, true, true)
	if err != nil {
		return err
	}
	defer conn.Close()
	condition := "next-exit"
	if spec.Remove {
		condition = "removed"
	}
	waitC, err := b.c.Wait(ctx, id, condition)
	if err != nil {
		return err
	}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		_ = client.Demux(stdout, stderr, rd)
	}()
	answer := b.request("POST", "/containers/"+id[:12]+"/start")
	err = b.c.StartContainer(ctx, id)
	if err == nil {
		err = b.await(ctx, b.seen(containerEvent(trace.ContainerStart, id)), "container "+id[:12]+" started")
	}
	answer(trace.ClientInfo{Container: id}, err)
	if err != nil {
		return err
	}
	stop := stopAfter(ctx, spec.StopAfter, func(sig syscall.Signal) {
		_ = b.c.KillContainer(context.WithoutCancel(ctx), id, strconv.Itoa(int(sig)))
	})
	<-outDone
	res := <-waitC
	stop()
	stdout.Flush()
	stderr.Flush()
	if res.Err != nil {
		return res.Err
	}
	return b.await(ctx, ended, "container "+id[:12]+" ended")
}

// stopAfter stops a container as Ctrl-C would after d (SIGTERM, then
// SIGKILL 5 seconds later; never when d is 0), or at once with SIGKILL
// when ctx ends, until the returned function is called.
func stopAfter(ctx context.Context, d time.Duration, kill func(syscall.Signal)) (cancel func()) {
	done := make(chan struct{})
	go func() {
		var timer <-chan time.Time
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-done:
			return
		case <-ctx.Done():
			kill(syscall.SIGKILL)
			return
		case <-timer:
			kill(syscall.SIGTERM)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			kill(syscall.SIGKILL)
		}
	}()
	return func() { close(done) }
}

// logs reads a container's log so far from the daemon.
func (b *DaemonBackend) logs(id string) func(context.Context, *bytes.Buffer) error {
	return func(ctx context.Context, buf *bytes.Buffer) error {
		body, err := b.c.Logs(ctx, id)
		if err != nil {
			return err
		}
		defer body.Close()
		return client.Demux(buf, buf, io.LimitReader(body, 16<<20))
	}
}

// running asks the daemon whether a container runs.
func (b *DaemonBackend) running(id string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		c, err := b.c.ContainerInspect(ctx, id)
		return err == nil && c.State != nil && c.State.Running
	}
}
