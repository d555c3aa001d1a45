//go:build linux

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine"
)

// Every container's top lower dir is the store's one init layer, made once
// under layers/ (not a copy in each container's directory), and it outlives
// the containers; what the runtime mounts on still never shows in a diff
// (TestContainerChanges).
func TestContainersShareOneInitLayer(t *testing.T) {
	e, _ := ctrEngine(t)
	ctx := context.Background()
	var inits []string
	for range 2 {
		c := ctrCreate(t, e, engine.ContainerCreateOptions{Cmd: []string{"true"}})
		lowers := strings.Split(e.ContainerGraphDriver(c)["LowerDir"], ":")
		if len(lowers) != 2 {
			t.Fatalf("lower dirs %v: want the init layer and busybox's layer", lowers)
		}
		inits = append(inits, lowers[0])
		if _, err := os.Stat(filepath.Join(e.Store.ContainerDir(c.ID), "init")); !os.IsNotExist(err) {
			t.Errorf("container %s has an init layer of its own (%v)", c.ShortID(), err)
		}
		if code, err := e.RunContainer(ctx, c.ID, engine.Stdio{}); code != 0 || err != nil {
			t.Fatalf("run: %d %v", code, err)
		}
		if err := e.RemoveContainer(ctx, c.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	if inits[0] != inits[1] || filepath.Dir(inits[0]) != e.Store.LayersDir() || !strings.HasPrefix(filepath.Base(inits[0]), ".init-") {
		t.Fatalf("init layers %v: want one layers/.init-<hash>", inits)
	}
	for _, p := range []string{"proc", "sys", "dev", "etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/mtab"} {
		if _, err := os.Lstat(filepath.Join(inits[0], p)); err != nil {
			t.Errorf("init layer after its containers went: %v", err)
		}
	}
}
