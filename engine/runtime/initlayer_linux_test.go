package runtime

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestSharedInitLayer: the layer holds InitLayer's entries, is made once
// (concurrent creators agree on one directory), and leaves no temporary
// directory behind.
func TestSharedInitLayer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "init-layers")
	var wg sync.WaitGroup
	got := make([]string, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = SharedInitLayer(dir)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != SharedInitLayerPath(dir) {
			t.Fatalf("SharedInitLayer #%d = %q, %v; want %s", i, got[i], errs[i], SharedInitLayerPath(dir))
		}
	}
	layer := got[0]
	for _, name := range []string{"dev", "proc", "sys", "etc"} {
		if st, err := os.Stat(filepath.Join(layer, name)); err != nil || !st.IsDir() || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, %v", name, st, err)
		}
	}
	for _, name := range []string{"etc/hostname", "etc/hosts", "etc/resolv.conf"} {
		if st, err := os.Stat(filepath.Join(layer, name)); err != nil || !st.Mode().IsRegular() || st.Size() != 0 {
			t.Errorf("%s: %v, %v", name, st, err)
		}
	}
	if target, err := os.Readlink(filepath.Join(layer, "etc/mtab")); err != nil || target != "/proc/mounts" {
		t.Errorf("etc/mtab -> %q, %v", target, err)
	}
	if st, err := os.Stat(layer); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("layer mode: %v, %v", st, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("%s holds %v (%v), want the layer alone", dir, entries, err)
	}
	// Made once: a second call finds it and changes nothing.
	stamp := filepath.Join(layer, "dev", "stamp")
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if again, err := SharedInitLayer(dir); err != nil || again != layer {
		t.Fatalf("second call: %q, %v", again, err)
	}
	if _, err := os.Stat(stamp); err != nil {
		t.Errorf("the layer was remade: %v", err)
	}
}
