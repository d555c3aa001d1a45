//go:build linux

package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
	"github.com/berthkit/berth/internal/testenv"
)

// TestCreateResolvesMounts: -v, --mount and --volumes-from become the
// container's mount points, parents first, named volumes created, with
// Docker's refusals for duplicates and missing --mount sources.
func TestCreateResolvesMounts(t *testing.T) {
	testenv.RequireRoot(t)
	e, _ := ctrEngine(t)
	ctx := context.Background()
	host := t.TempDir()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{
		Binds:  []string{"data:/data/sub", host + ":/data:ro", "/anon"},
		Mounts: []volume.Mount{{Type: volume.TypeVolume, Source: "more", Target: "/more", NoCopy: true}},
	})
	want := []string{"/anon", "/data", "/more", "/data/sub"}
	if len(c.Mounts) != len(want) {
		t.Fatalf("mounts = %+v", c.Mounts)
	}
	for i, mp := range c.Mounts {
		if mp.Destination != want[i] {
			t.Errorf("mount %d at %s, want %s", i, mp.Destination, want[i])
		}
	}
	if m := c.Mounts[1]; m.Type != "bind" || m.RW || m.Mode != "ro" || m.Propagation != "rprivate" {
		t.Errorf("bind = %+v", m)
	}
	if m := c.Mounts[0]; !m.Anonymous || len(m.Name) != 64 || m.Source != e.Store.VolumeDataDir(m.Name) {
		t.Errorf("anonymous = %+v", m)
	}
	for _, name := range []string{"data", "more", c.Mounts[0].Name} {
		if _, err := e.Volume(ctx, name); err != nil {
			t.Errorf("volume %s: %v", name, err)
		}
	}
	// --volumes-from takes them all, ro when asked.
	c2 := ctrCreate(t, e, engine.ContainerCreateOptions{VolumesFrom: []string{c.Name + ":ro"}})
	if len(c2.Mounts) != 4 || c2.Mounts[3].RW || c2.Mounts[3].Name != "data" {
		t.Errorf("volumes-from = %+v", c2.Mounts)
	}
	users, err := e.VolumeUsers("data")
	if err != nil || len(users) != 2 {
		t.Errorf("users of data = %v, %v", users, err)
	}
	// rm -v of the first leaves the anonymous volume the second still uses.
	if err := e.RemoveContainerVolumes(ctx, c.ID, false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Volume(ctx, c.Mounts[0].Name); err != nil {
		t.Errorf("anonymous volume in use was removed: %v", err)
	}
	if err := e.RemoveVolume(ctx, "data", false); !errors.Is(err, engine.ErrVolumeInUse) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("rm of a used volume: %v", err)
	}
	if err := e.RemoveContainerVolumes(ctx, c2.ID, false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Volume(ctx, c.Mounts[0].Name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("anonymous volume survived the last rm -v: %v", err)
	}
	if _, err := e.Volume(ctx, "data"); err != nil {
		t.Errorf("named volume removed by rm -v: %v", err)
	}
}

func TestCreateRefusesBadMounts(t *testing.T) {
	testenv.RequireRoot(t)
	e, _ := ctrEngine(t)
	missing := filepath.Join(t.TempDir(), "absent")
	for _, tc := range []struct {
		opts engine.ContainerCreateOptions
		want string
	}{
		{engine.ContainerCreateOptions{Binds: []string{"aa:/x", "bb:/x"}}, "Duplicate mount point: /x"},
		{engine.ContainerCreateOptions{Binds: []string{"a/b:/x"}}, `create a/b: "a/b" includes invalid characters for a local volume name`},
		{engine.ContainerCreateOptions{Mounts: []volume.Mount{{Type: "bind", Source: missing, Target: "/x"}}},
			"invalid mount config for type \"bind\": bind source path does not exist: " + missing},
		{engine.ContainerCreateOptions{VolumesFrom: []string{"nosuch"}}, "No such container: nosuch"},
	} {
		tc.opts.Image = "busybox"
		_, err := e.CreateContainer(context.Background(), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.opts, err, tc.want)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("--mount created its missing source: %v", err)
	}
	if vols, _ := e.Volumes(context.Background()); len(vols) != 0 {
		t.Errorf("refused creates left volumes: %v", vols)
	}
}
