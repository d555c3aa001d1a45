package engine

import (
	"context"
	"os"
	"strings"
	"testing"
)

// A build step's overlay is volatile, so its exit synced nothing: a step
// that wrote something has its upper adopted as layers/<chainID> (which
// the store syncs first: TestAdoptLayerDirSyncsFirst), and a step that
// wrote nothing is not adopted (so nothing is synced for it).
func TestStepUpperAdoptedOnlyWhenWritten(t *testing.T) {
	e, _ := netFilesEngine(t)
	ctx := context.Background()
	parent, err := e.Store.Image("busybox")
	if err != nil {
		t.Fatal(err)
	}
	for _, script := range []string{"true", "echo x > /f"} {
		c, err := e.CreateContainer(ctx, ContainerCreateOptions{Image: "busybox", Cmd: []string{"sh", "-c", script}, Purpose: "build", NetworkMode: "host"})
		if err != nil {
			t.Fatal(err)
		}
		if out := runCat(t, e, c.ID); out != "" {
			t.Fatalf("%s: %q", script, out)
		}
		before := layerDirs(t, e)
		img, err := e.commitContainer(ctx, c.ID, commitSpec{Config: cloneImageConfig(parent.Config), Parent: parent, CreatedBy: script, AdoptUpper: true})
		if err != nil {
			t.Fatal(err)
		}
		chains := img.ChainIDs()
		_, statErr := os.Stat(e.Store.LayerDir(chains[len(chains)-1]) + "/f")
		switch script {
		case "true":
			if after := layerDirs(t, e); after != before {
				t.Errorf("an empty step was adopted: %d layer dirs, then %d", before, after)
			}
		default:
			if statErr != nil {
				t.Errorf("the step's upper was not adopted: %v", statErr)
			}
		}
		if err := e.RemoveContainer(ctx, c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
}

// layerDirs counts the store's unpacked layers (not its shared or
// temporary dirs, whose names start with a dot).
func layerDirs(t *testing.T, e *Engine) int {
	t.Helper()
	entries, err := os.ReadDir(e.Store.LayersDir())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range entries {
		if !strings.HasPrefix(d.Name(), ".") {
			n++
		}
	}
	return n
}
