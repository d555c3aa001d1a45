package engine_test

import (
	"bytes"
	"context"
	"errors"
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

const fillScript = "dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null; echo after; exit 3"

// A container that fills the store: the exit cannot be written, the error
// says so and where, yet the container shows its real exit, never Up, and
// rm removes it.
func TestFullStoreAttached(t *testing.T) {
	e := fullEngine(t)
	ctx := context.Background()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"sh", "-c", fillScript}})
	var out bytes.Buffer
	code, err := e.RunContainer(ctx, c.ID, engine.Stdio{Out: &out})
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
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"sh", "-c", fillScript}})
	if err := e.StartContainer(ctx, c.ID); err != nil {
		t.Fatal(err)
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
