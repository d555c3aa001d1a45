//go:build linux

package engine

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
)

// populateVolumes fills each of the new container's empty volumes (not
// nocopy) with what its image holds at the mount's path, when the
// container is created, as Docker does (moby's populateVolumes, "only
// called when the container is created"): a volume emptied later is not
// filled again at start. The overlay is mounted only when some volume
// needs it. The caller holds the store's lock, so two creates never fill
// one volume at once and volume rm cannot slip in.
func (e *Engine) populateVolumes(c *store.Container) error {
	var todo []store.MountPoint
	for _, mp := range c.Mounts {
		if mp.Type != volume.TypeVolume || mp.NoCopy {
			continue
		}
		empty, err := volume.IsEmpty(e.Store.VolumeDataDir(mp.Name))
		if err != nil {
			return fmt.Errorf("volume %s: %w", mp.Name, err)
		}
		if empty {
			todo = append(todo, mp)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	root, release, err := e.mountSnapshot(c)
	if err != nil {
		return err
	}
	defer release()
	for _, mp := range todo {
		if err := e.copyUp(root, mp); err != nil {
			return fmt.Errorf("copy the image's content at %s into volume %s: %w", mp.Destination, mp.Name, err)
		}
	}
	return nil
}

// copyUp fills one volume, building the copy in a scratch directory
// beside the volume's _data (so on its file system even when volumes/ is
// a mount of its own) that goes afterwards. A scratch directory a killed
// copy left there goes first: none can be in use, as the caller holds the
// store's lock.
func (e *Engine) copyUp(root string, mp store.MountPoint) error {
	data := e.Store.VolumeDataDir(mp.Name)
	dir := filepath.Dir(data)
	stale, _ := filepath.Glob(filepath.Join(dir, copyScratchPrefix+"*"))
	for _, s := range stale {
		_ = os.RemoveAll(s)
	}
	scratch, err := os.MkdirTemp(dir, copyScratchPrefix)
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	_, err = volume.CopyUp(root, mp.Destination, data, scratch)
	return err
}

// copyScratchPrefix names a copy's scratch directory in volumes/<name>/,
// with the store's prefix for what a crash may leave beside its target.
const copyScratchPrefix = ".tmp-copy-"
