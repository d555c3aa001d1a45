package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine/store"
)

// An empty step's commit reads no lower dirs: with the snapshot's l/
// links gone it still commits an empty layer. A step that wrote something
// needs them for its diff, and a missing l/ is then the commit's error,
// naming the snapshot, as before.
func TestEmptyCommitReadsNoLowerDirs(t *testing.T) {
	e, _ := netFilesEngine(t)
	ctx := context.Background()
	parent, err := e.Store.Image("busybox")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrote := range []bool{false, true} {
		c, err := e.CreateContainer(ctx, ContainerCreateOptions{Image: "busybox", Cmd: []string{"true"}, Purpose: "build", NetworkMode: "host", NeverStarts: true})
		if err != nil {
			t.Fatal(err)
		}
		dir := e.Store.ContainerDir(c.ID)
		if wrote {
			if err := os.WriteFile(filepath.Join(dir, "upper", "f"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.RemoveAll(filepath.Join(dir, "l")); err != nil {
			t.Fatal(err)
		}
		img, err := e.commitContainer(ctx, c.ID, commitSpec{Config: cloneImageConfig(parent.Config), Parent: parent, CreatedBy: "step"})
		switch {
		case !wrote && err != nil:
			t.Errorf("empty step: %v", err)
		case !wrote && !img.Config.History[len(img.Config.History)-1].EmptyLayer:
			t.Errorf("empty step committed a layer: %+v", img.Config.History)
		case wrote && (err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "snapshot "+c.ID[:12])):
			t.Errorf("step that wrote, without its lower dirs: %v", err)
		}
		if err := e.RemoveContainer(ctx, c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
}

// A start by full ID reads the record once, under the container's lock;
// a record that says running whose process and supervisor are gone (a
// killed berth) still goes through refresh, which marks it exited, and
// the container starts. A full ID that names no container is Docker's
// "No such container", by ID or as a name.
func TestStartByFullIDRecoversAStaleRecord(t *testing.T) {
	e, _ := netFilesEngine(t)
	ctx := context.Background()
	c, err := e.CreateContainer(ctx, ContainerCreateOptions{Image: "busybox", Cmd: []string{"echo", "ran"}, NetworkMode: "host"})
	if err != nil {
		t.Fatal(err)
	}
	if out := runCat(t, e, c.ID); out != "ran\n" {
		t.Fatalf("first run: %q", out)
	}
	const gone = 1 << 30 // above pid_max: no such process
	if _, err := e.Store.UpdateContainer(c.ID, func(r *store.Container) error {
		r.State = store.ContainerState{Status: store.StatusRunning, Pid: gone, PidStart: 1, Supervisor: gone, SupervisorStart: 1}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if out := runCat(t, e, c.ID); out != "ran\n" {
		t.Fatalf("run over a stale running record: %q", out)
	}
	got, err := e.Store.ReadContainer(c.ID)
	if err != nil || got.State.Status != store.StatusExited || !got.State.ExitKnown || got.State.ExitCode != 0 {
		t.Errorf("record after the run: %+v %v", got, err)
	}
	if out := runCat(t, e, c.Name); out != "ran\n" {
		t.Errorf("run by name: %q", out)
	}
	missing := strings.Repeat("ab", 32)
	if _, err := e.StartAttached(ctx, missing, AttachOptions{}); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "No such container") {
		t.Errorf("start of a missing full ID: %v", err)
	}
	if err := e.RemoveContainer(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
}
