package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrVolumeInUse: volume rm of a volume a container (running or not) uses.
var ErrVolumeInUse = errors.New("volume is in use")

// inUseError is Docker's "remove v: volume is in use - [id1, id2]"; it is
// ErrVolumeInUse and a store.ErrConflict (HTTP 409).
type inUseError struct {
	name string
	ids  []string
}

func (e *inUseError) Error() string {
	return fmt.Sprintf("remove %s: %v - [%s]", e.name, ErrVolumeInUse, strings.Join(e.ids, ", "))
}

func (e *inUseError) Is(target error) bool {
	return target == ErrVolumeInUse || target == store.ErrConflict
}

func (e *inUseError) ErrClass() errdefs.Class { return errdefs.Conflict }

// CreateVolume creates a local volume, or returns the existing one of that
// name, as docker volume create. An empty name gets a random one.
func (e *Engine) CreateVolume(ctx context.Context, name string, labels map[string]string) (*store.Volume, error) {
	if name == "" {
		name = store.RandomID()
	}
	if err := volume.ValidateName(name); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	unlock, err := e.Store.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	v, _, err := e.Store.CreateVolume(name, labels, nil)
	return v, err
}

// Volumes lists the volumes, by name.
func (e *Engine) Volumes(ctx context.Context) ([]*store.Volume, error) {
	return e.Store.Volumes()
}

// Volume returns one volume; a missing one is store.ErrNotFound.
func (e *Engine) Volume(ctx context.Context, name string) (*store.Volume, error) {
	return e.Store.Volume(name)
}

// VolumeUsers returns the IDs of the containers whose mounts name the
// volume, whatever their state.
func (e *Engine) VolumeUsers(name string) ([]string, error) {
	all, err := e.Store.Containers()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range all {
		for _, m := range c.Mounts {
			if m.Type == volume.TypeVolume && m.Name == name {
				ids = append(ids, c.ID)
				break
			}
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// RemoveVolume removes a volume and its content. A volume any container
// uses is refused with Docker's words, "volume is in use - [<id>]"; force
// only turns a missing volume into success, as docker volume rm -f.
func (e *Engine) RemoveVolume(ctx context.Context, name string, force bool) error {
	unlock, err := e.Store.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	return e.removeVolumeLocked(name, force)
}

func (e *Engine) removeVolumeLocked(name string, force bool) error {
	if _, err := e.Store.Volume(name); err != nil {
		if force && errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	users, err := e.VolumeUsers(name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return &inUseError{name: name, ids: users}
	}
	return e.Store.DeleteVolume(name)
}

// PruneVolumes removes the volumes no container uses: only anonymous ones
// unless all, as Docker 23+ does. It returns their names and the bytes
// freed.
func (e *Engine) PruneVolumes(ctx context.Context, all bool) (removed []string, reclaimed int64, err error) {
	unlock, err := e.Store.Lock()
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	vols, err := e.Store.Volumes()
	if err != nil {
		return nil, 0, err
	}
	for _, v := range vols {
		if _, anon := v.Labels[volume.AnonymousLabel]; !anon && !all {
			continue
		}
		if users, err := e.VolumeUsers(v.Name); err != nil || len(users) > 0 {
			continue
		}
		size := e.Store.VolumeSize(v.Name)
		if err := e.Store.DeleteVolume(v.Name); err != nil {
			return removed, reclaimed, err
		}
		removed = append(removed, v.Name)
		reclaimed += size
	}
	return removed, reclaimed, nil
}

// resolveMounts turns the image's VOLUMEs and the options' --volumes-from,
// -v and --mount into the container's mount points, in Docker's order of
// precedence (image volumes, then volumes-from, then -v and --mount, a
// later one replacing an earlier one at the same destination).
func (e *Engine) resolveMounts(img ocispec.ImageConfig, opts ContainerCreateOptions) ([]store.MountPoint, error) {
	byDest := map[string]store.MountPoint{}
	var anonymous []string
	// A RUN step's container gets the image's volumes too, as in Docker's
	// classic builder: what RUN writes under a VOLUME path is discarded.
	// Metadata and COPY steps never start, and COPY writes into the layer.
	if opts.Purpose == "run" || opts.Purpose == "" || (opts.Purpose == "build" && !opts.NeverStarts) {
		for dest := range img.Volumes {
			anonymous = append(anonymous, dest)
		}
	}
	for _, dest := range append(anonymous, opts.Volumes...) {
		if !path.IsAbs(dest) {
			return nil, volume.Errorf("invalid mount config for type \"volume\": invalid mount path: '%s' mount path must be absolute", dest)
		}
		d := path.Clean(dest)
		byDest[d] = store.MountPoint{Type: volume.TypeVolume, Destination: d, Driver: "local", RW: true, Anonymous: true}
	}
	if err := e.volumesFrom(opts.VolumesFrom, byDest); err != nil {
		return nil, err
	}
	var requested []volume.Mount
	for _, raw := range opts.Binds {
		m, err := volume.ParseVolume(raw)
		if err != nil {
			return nil, err
		}
		requested = append(requested, m)
	}
	requested = append(requested, opts.Mounts...)
	seen := map[string]bool{}
	for _, m := range requested {
		if err := m.Validate(); err != nil { // unknown types included
			return nil, err
		}
		mp, err := mountPoint(m)
		if err != nil {
			return nil, err
		}
		if seen[mp.Destination] {
			return nil, volume.Errorf("Duplicate mount point: %s", mp.Destination)
		}
		seen[mp.Destination] = true
		byDest[mp.Destination] = mp
	}
	out := make([]store.MountPoint, 0, len(byDest))
	for _, mp := range byDest {
		out = append(out, mp)
	}
	// Parents before children, so /data/sub lands on /data's volume.
	sort.Slice(out, func(i, j int) bool {
		ci, cj := strings.Count(out[i].Destination, "/"), strings.Count(out[j].Destination, "/")
		if ci != cj {
			return ci < cj
		}
		return out[i].Destination < out[j].Destination
	})
	return out, nil
}

// mountPoint makes one parsed request a mount point; a bind's source must
// exist unless the -v form, which creates it (at create, as Docker).
func mountPoint(m volume.Mount) (store.MountPoint, error) {
	mp := store.MountPoint{
		Type: m.Type, Destination: path.Clean(m.Target), Mode: m.Mode, RW: !m.ReadOnly,
		NoCopy: m.NoCopy, CreateSource: m.CreateSource,
	}
	switch m.Type {
	case volume.TypeBind:
		mp.Source = filepath.Clean(m.Source)
		mp.Propagation = m.Propagation
		if mp.Propagation == "" {
			mp.Propagation = "rprivate"
		}
		if err := ensureBindSource(mp); err != nil {
			return mp, err
		}
	case volume.TypeVolume:
		mp.Name, mp.Driver = m.Source, "local"
		if m.Source == "" {
			mp.Anonymous = true
		} else if err := volume.ValidateName(m.Source); err != nil {
			return mp, fmt.Errorf("create %s: %w", m.Source, err)
		}
	case volume.TypeTmpfs:
		mp.Data = tmpfsData(m)
	}
	return mp, nil
}

// ensureBindSource checks a bind's host path, creating a missing one for
// the -v form (as Docker's -v does) and refusing it for --mount.
func ensureBindSource(mp store.MountPoint) error {
	if _, err := os.Stat(mp.Source); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("bind source %s: %w", mp.Source, err)
	}
	if !mp.CreateSource {
		return volume.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", mp.Source)
	}
	if err := os.MkdirAll(mp.Source, 0o755); err != nil {
		return fmt.Errorf("create bind source %s: %w", mp.Source, err)
	}
	return nil
}

func tmpfsData(m volume.Mount) string {
	var opts []string
	if m.TmpfsSize > 0 {
		opts = append(opts, fmt.Sprintf("size=%d", m.TmpfsSize))
	}
	if m.TmpfsMode != 0 {
		opts = append(opts, fmt.Sprintf("mode=%o", m.TmpfsMode))
	}
	return strings.Join(opts, ",")
}

// volumesFrom adds the mounts of other containers ("name[:ro|rw]").
func (e *Engine) volumesFrom(specs []string, byDest map[string]store.MountPoint) error {
	for _, spec := range specs {
		name, mode, err := volume.ParseVolumesFrom(spec)
		if err != nil {
			return err
		}
		src, err := e.Store.Container(name)
		if err != nil {
			return err
		}
		for _, mp := range src.Mounts {
			// An anonymous volume stays anonymous: rm -v of the last
			// container using it removes it, as in Docker.
			switch mode {
			case "ro":
				mp.RW = false
			case "rw":
				mp.RW = true
			}
			byDest[mp.Destination] = mp
		}
	}
	return nil
}

// ensureVolumes creates the container's volumes (named ones when missing,
// a fresh one for each anonymous mount) and fills in their sources. The
// caller holds the store's lock, so volume rm cannot slip in between.
func (e *Engine) ensureVolumes(c *store.Container) error {
	for i := range c.Mounts {
		mp := &c.Mounts[i]
		if mp.Type != volume.TypeVolume {
			continue
		}
		var labels map[string]string
		if mp.Name == "" {
			mp.Name = store.RandomID()
			labels = map[string]string{volume.AnonymousLabel: ""}
			c.Config.Volumes = append(c.Config.Volumes, mp.Destination)
		}
		v, _, err := e.Store.CreateVolume(mp.Name, labels, nil)
		if err != nil {
			return err
		}
		mp.Source = v.Mountpoint
	}
	return nil
}

// putWithVolumes creates the container's volumes, fills the empty ones
// from the image, and writes its record; when any of it fails, the
// anonymous volumes made for it go again. The caller holds the store's
// lock.
func (e *Engine) putWithVolumes(c *store.Container) error {
	err := e.ensureVolumes(c)
	if err == nil {
		err = e.populateVolumes(c)
	}
	if err == nil {
		err = e.Store.PutContainer(c)
	}
	if err != nil {
		e.removeAnonymousLocked(c)
	}
	return err
}

// removeAnonymousVolumes removes the container's anonymous volumes that no
// other container uses (rm -v, run --rm); errors are ignored as Docker does.
func (e *Engine) removeAnonymousVolumes(c *store.Container) {
	if !slices.ContainsFunc(c.Mounts, isAnonymousVolume) {
		return // most containers: no lock to take
	}
	unlock, err := e.Store.Lock()
	if err != nil {
		return
	}
	defer unlock()
	e.removeAnonymousLocked(c)
}

func (e *Engine) removeAnonymousLocked(c *store.Container) {
	for _, mp := range c.Mounts {
		if isAnonymousVolume(mp) {
			_ = e.removeVolumeLocked(mp.Name, true)
		}
	}
}

func isAnonymousVolume(mp store.MountPoint) bool {
	return mp.Type == volume.TypeVolume && mp.Anonymous && mp.Name != ""
}

// runtimeVolumes are the container's mounts as the runtime makes them.
func (e *Engine) runtimeVolumes(c *store.Container) ([]runtime.Mount, error) {
	var out []runtime.Mount
	for _, mp := range c.Mounts {
		m := runtime.Mount{Destination: mp.Destination, ReadOnly: !mp.RW}
		switch mp.Type {
		case volume.TypeBind:
			if err := ensureBindSource(mp); err != nil {
				return nil, err
			}
			// Symlinks in the path the user named are followed here, once;
			// the runtime opens the result without following any more.
			src, err := filepath.EvalSymlinks(mp.Source)
			if err != nil {
				return nil, fmt.Errorf("bind source %s: %w", mp.Source, err)
			}
			m.Type, m.Source, m.Propagation = "bind", src, mp.Propagation
		case volume.TypeVolume:
			if _, err := e.Store.Volume(mp.Name); err != nil {
				return nil, err
			}
			// Filled from the image at create (populateVolumes), not here.
			m.Type, m.Source = "bind", e.Store.VolumeDataDir(mp.Name)
		case volume.TypeTmpfs:
			m.Type, m.Source, m.Data = "tmpfs", "tmpfs", mp.Data
		}
		out = append(out, m)
	}
	return out, nil
}

// withoutUserMounts drops the engine's own mounts at a destination the
// user mounted something on (-v ./hosts:/etc/hosts), as Docker does.
func withoutUserMounts(c *store.Container, mounts []runtime.Mount) []runtime.Mount {
	out := mounts[:0]
	for _, m := range mounts {
		taken := false
		for _, mp := range c.Mounts {
			taken = taken || mp.Destination == m.Destination
		}
		if !taken {
			out = append(out, m)
		}
	}
	return out
}

// FilterVolumes applies docker volume ls's filters ("dangling=true",
// "name=x", "label=k[=v]", "driver=local"); others are refused by name.
func (e *Engine) FilterVolumes(vols []*store.Volume, filters []string) ([]*store.Volume, error) {
	for _, f := range filters {
		key, val, _ := strings.Cut(f, "=")
		var keep func(v *store.Volume) bool
		switch key {
		case "dangling":
			want := val == "true" || val == "1"
			keep = func(v *store.Volume) bool { ids, _ := e.VolumeUsers(v.Name); return (len(ids) == 0) == want }
		case "name":
			keep = func(v *store.Volume) bool { return strings.Contains(v.Name, val) }
		case "label":
			k, lv, hasVal := strings.Cut(val, "=")
			keep = func(v *store.Volume) bool { have, ok := v.Labels[k]; return ok && (!hasVal || have == lv) }
		case "driver":
			keep = func(v *store.Volume) bool { return v.Driver == val }
		default:
			return nil, fmt.Errorf("invalid filter '%s'", key)
		}
		var out []*store.Volume
		for _, v := range vols {
			if keep(v) {
				out = append(out, v)
			}
		}
		vols = out
	}
	return vols, nil
}

// VolumeUsage is system df's "Local Volumes" row: how many volumes, how
// many some container uses, their bytes, and the bytes of the unused ones.
func (e *Engine) VolumeUsage(ctx context.Context) (total, active int, size, reclaimable int64, err error) {
	vols, err := e.Store.Volumes()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	for _, v := range vols {
		n := e.Store.VolumeSize(v.Name)
		size += n
		if users, _ := e.VolumeUsers(v.Name); len(users) > 0 {
			active++
		} else {
			reclaimable += n
		}
	}
	return len(vols), active, size, reclaimable, nil
}
