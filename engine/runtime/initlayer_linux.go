package runtime

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
)

// SharedInitLayer returns the init layer (InitLayer's entries) kept under
// dir for every container of a store, making it on first use. The layer
// is the same for every container and, as a lower dir, never written
// through the overlay, so one copy serves all: a container's creation and
// removal no longer make and delete its ten entries. The directory's name
// carries a hash of InitLayer, so a berth whose layer differs makes its
// own. It is filled under a temporary name and renamed into place, so a
// crash never leaves a partial layer where containers would use it.
func SharedInitLayer(dir string) (string, error) {
	layer := SharedInitLayerPath(dir)
	if st, err := os.Stat(layer); err == nil && st.IsDir() {
		return layer, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("init layer: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-init-")
	if err != nil {
		return "", fmt.Errorf("init layer: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("init layer: %w", err)
	}
	if err := WriteInitLayer(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, layer); err != nil {
		os.RemoveAll(tmp)
		// Another berth made it first (rename onto a non-empty directory).
		if st, serr := os.Stat(layer); serr == nil && st.IsDir() {
			return layer, nil
		}
		return "", fmt.Errorf("init layer: %w", err)
	}
	return layer, nil
}

// SharedInitLayerPath is where SharedInitLayer keeps the layer under dir.
func SharedInitLayerPath(dir string) string {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(InitLayer, "\n")))
	return filepath.Join(dir, fmt.Sprintf("init-%016x", h.Sum64()))
}
