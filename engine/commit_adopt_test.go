package engine

import (
	"context"
	"os"
	"testing"
)

// A build step's overlay is volatile, so its exit synced nothing: the
// upper dir it wrote is synced before it becomes layers/<chainID>, and a
// step that wrote nothing is neither synced nor adopted.
func TestStepUpperSyncedBeforeAdoption(t *testing.T) {
	e, _ := netFilesEngine(t)
	ctx := context.Background()
	parent, err := e.Store.Image("busybox")
	if err != nil {
		t.Fatal(err)
	}
	var synced []string
	var stillUpper []bool // the written file was still in upper/ when synced
	old := syncUpper
	t.Cleanup(func() { syncUpper = old })
	for _, script := range []string{"true", "echo x > /f"} {
		c, err := e.CreateContainer(ctx, ContainerCreateOptions{Image: "busybox", Cmd: []string{"sh", "-c", script}, Purpose: "build", NetworkMode: "host"})
		if err != nil {
			t.Fatal(err)
		}
		if out := runCat(t, e, c.ID); out != "" {
			t.Fatalf("%s: %q", script, out)
		}
		upper, _, err := e.ContainerPaths(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		syncUpper = func(dir string) error {
			_, err := os.Stat(dir + "/f")
			synced, stillUpper = append(synced, dir), append(stillUpper, err == nil)
			return old(dir)
		}
		img, err := e.commitContainer(ctx, c.ID, commitSpec{Config: cloneImageConfig(parent.Config), Parent: parent, CreatedBy: script, AdoptUpper: true})
		if err != nil {
			t.Fatal(err)
		}
		chains := img.ChainIDs()
		_, statErr := os.Stat(e.Store.LayerDir(chains[len(chains)-1]) + "/f")
		switch script {
		case "true":
			if len(synced) != 0 {
				t.Errorf("an empty step synced %q", synced)
			}
		default:
			if len(synced) != 1 || synced[0] != upper || !stillUpper[0] {
				t.Errorf("synced %q (with the step's file in it: %v), want %s before its adoption", synced, stillUpper, upper)
			}
			if statErr != nil {
				t.Errorf("the step's upper was not adopted: %v", statErr)
			}
		}
		if err := e.RemoveContainer(ctx, c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
}
