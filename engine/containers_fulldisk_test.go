//go:build linux

package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

// fullEngine is an engine whose store is a 12 MB tmpfs of its own, with
// busybox on it.
func fullEngine(t *testing.T) *engine.Engine {
	t.Helper()
	testenv.RequireOverlay(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs a static busybox (apt-get install busybox-static)")
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=12m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(root, unix.MNT_DETACH) })
	e, err := engine.Open(root, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, _ := e.ListContainers(context.Background(), true)
		for _, c := range list {
			_ = e.RemoveContainer(context.Background(), c.ID, true)
		}
		e.Close()
	})
	if _, err := e.BootstrapBusybox(context.Background(), engine.BootstrapBusyboxOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// The container fills the disk only once told to, so that its record says
// it runs: the record that cannot be written is the one of its exit.
const fillScript = "dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null; echo after; exit 3"

// A container that fills the store: the exit cannot be written, the error
// says so and where, yet the container shows its real exit, never Up, and
// rm removes it.
func TestFullStoreAttached(t *testing.T) {
	e := fullEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"sh", "-c", "read go; " + fillScript}, OpenStdin: true})
	var out bytes.Buffer
	in, tell := io.Pipe()
	a, err := e.StartAttached(ctx, c.ID, engine.AttachOptions{Stdio: engine.Stdio{In: in, Out: &out}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tell, "go\n"); err != nil {
		t.Fatal(err)
	}
	tell.Close()
	code, err := a.Wait()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "while writing "+filepath.Join(e.Store.ContainerDir(c.ID), "config.json")) {
		t.Errorf("run error %v, want ENOSPC naming the record", err)
	}
	if code != 3 || out.String() != "after\n" {
		t.Errorf("code %d, output %q", code, out.String())
	}
	got, err := e.Container(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State.Status != store.StatusExited || got.State.ExitCode != 3 {
		t.Errorf("state %+v, want exited 3 (kept in memory)", got.State)
	}
	if err := e.RemoveContainer(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Container(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after rm: %v", err)
	}
}

// A detached container on a full store: its supervisor cannot record the
// exit and is gone; every other process sees it exited, and rm works.
func TestFullStoreDetached(t *testing.T) {
	e := fullEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"sh", "-c", "until test -e /go; do sleep 0.1; done; " + fillScript}})
	if err := e.StartContainer(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	p, err := e.ExecContainer(ctx, c.ID, engine.ExecOptions{Cmd: []string{"touch", "/go"}})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(); code != 0 || err != nil {
		t.Fatalf("touch /go: %d %v", code, err)
	}
	code, err := e.WaitContainer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Container(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State.Running() || got.State.ExitKnown || code != 255 {
		t.Errorf("state %+v (wait: %d), want exited, code unknown", got.State, code)
	}
	if err := e.RemoveContainer(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
}
