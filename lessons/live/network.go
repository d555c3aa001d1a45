package live

import (
	"bytes"
	"context"
	"fmt"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/network"
	"github.com/berthkit/berth/lessons"
)

// runNetworkMode is the network a lesson's container joins: the one asked
// for; else Docker's default bridge, so a server a lesson runs (redis on
// 6379) never collides with one of the host's or of another lesson. In
// rootless mode, where the default network needs pasta or slirp4netns, a
// container without -p shares the host's network instead, which always
// works there.
func runNetworkMode(spec lessons.RunSpec, rootless bool) string {
	switch {
	case spec.Network != "":
		return spec.Network
	case rootless && len(spec.Publish) == 0:
		return network.Host
	}
	return network.Bridge
}

// startDetached starts a container as berth run -d does and, with ready,
// waits until its log says so.
func (b *Backend) startDetached(ctx context.Context, id, ready string) error {
	e := b.Engine
	if err := e.StartContainer(ctx, id); err != nil {
		return err
	}
	if ready == "" {
		return nil
	}
	logs := func(ctx context.Context, buf *bytes.Buffer) error {
		return e.ContainerLogs(ctx, id, engine.LogsOptions{Tail: -1}, buf, buf)
	}
	running := func(ctx context.Context) bool {
		c, err := e.Container(ctx, id)
		return err == nil && c.State.Running()
	}
	return waitReady(ctx, id, ready, logs, running)
}

// Remove removes containers, as berth rm [-f].
func (b *Backend) Remove(ctx context.Context, spec lessons.RmSpec) error {
	for _, name := range spec.Containers {
		if err := b.Engine.RemoveContainer(ctx, name, spec.Force); err != nil {
			return err
		}
	}
	return nil
}

// Network creates or removes a user-defined network, as berth network
// create|rm. Networks make no engine events, so a message says what was
// made: it is in the narration and the recording.
func (b *Backend) Network(ctx context.Context, spec lessons.NetworkSpec) error {
	if isRootless() {
		return fmt.Errorf("network %s %s: user-defined networks need root: bridges and NAT rules cannot be made from a user namespace (docs/rootless.md)", spec.Op, spec.Name)
	}
	switch spec.Op {
	case "create":
		n, err := b.Engine.Networks().Create(spec.Name, network.CreateOptions{})
		if err != nil {
			return err
		}
		b.Note(fmt.Sprintf("network %s created: a bridge (%s), subnet %s, gateway %s; its containers find each other by name", n.Name, n.Bridge, n.Subnet, n.Gateway))
	case "rm":
		if err := b.Engine.RemoveNetwork(ctx, spec.Name); err != nil {
			return err
		}
		b.Note(fmt.Sprintf("network %s removed, with its bridge", spec.Name))
	default:
		return fmt.Errorf("network %s: use create or rm", spec.Op)
	}
	return nil
}

// removeNetworks removes the user-defined networks a lesson left (it
// stopped half way), after its containers.
func removeNetworks(ctx context.Context, e *engine.Engine) error {
	nets, err := e.Networks().List()
	if err != nil {
		return fmt.Errorf("list the lesson's networks: %w", err)
	}
	for _, n := range nets {
		if !n.UserDefined() {
			continue
		}
		if err := e.RemoveNetwork(ctx, n.ID); err != nil {
			return fmt.Errorf("remove the lesson's network %s: %w", n.Name, err)
		}
	}
	return nil
}

// isRootless says whether this process runs the engine in rootless mode.
func isRootless() bool {
	mode, _ := engine.Mode()
	return mode == engine.ModeRootless
}
