package daemon

import (
	"net/http"
	"os"
	"path"
	"sort"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	apivolume "github.com/moby/moby/api/types/volume"
)

// volumeView is Docker's view of a volume.
func volumeView(v *store.Volume) apivolume.Volume {
	return apivolume.Volume{
		CreatedAt: v.CreatedAt.Format(time.RFC3339), Driver: v.Driver, Labels: orEmptyMap(v.Labels),
		Mountpoint: v.Mountpoint, Name: v.Name, Options: orEmptyMap(v.Options), Scope: "local",
	}
}

// volumeList is GET /volumes?filters=.
func (s *Server) volumeList(w *responseWriter, r *request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	vols, err := s.eng.Volumes(r.Context())
	if err != nil {
		return err
	}
	if vols, err = s.eng.FilterVolumes(vols, filters); err != nil {
		return badRequestf("%v", err)
	}
	resp := apivolume.ListResponse{Volumes: []apivolume.Volume{}, Warnings: []string{}}
	for _, v := range vols {
		resp.Volumes = append(resp.Volumes, volumeView(v))
	}
	return writeJSON(w, http.StatusOK, resp)
}

// volumeCreate is POST /volumes/create.
func (s *Server) volumeCreate(w *responseWriter, r *request) error {
	var req apivolume.CreateRequest
	if err := decodeJSON(r, s.opts.MaxJSON, &req); err != nil {
		return err
	}
	if req.Driver != "" && req.Driver != "local" {
		return notFoundf("error looking up volume plugin %s: plugin \"%s\" not found", req.Driver, req.Driver)
	}
	if len(req.DriverOpts) > 0 || req.ClusterVolumeSpec != nil {
		return badRequestf("volume driver options are not supported by berth's local driver")
	}
	v, err := s.eng.CreateVolume(r.Context(), req.Name, req.Labels)
	if err != nil {
		return invalidUnlessKnown(err)
	}
	return writeJSON(w, http.StatusCreated, volumeView(v))
}

// volumeInspect is GET /volumes/{name}.
func (s *Server) volumeInspect(w *responseWriter, r *request) error {
	v, err := s.eng.Volume(r.Context(), r.name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, volumeView(v))
}

// volumeDelete is DELETE /volumes/{name}?force=.
func (s *Server) volumeDelete(w *responseWriter, r *request) error {
	if err := s.eng.RemoveVolume(r.Context(), r.name, boolValue(r, "force", false)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// volumePrune is POST /volumes/prune?filters=; "all=true" removes named
// volumes too (API 1.42+), as docker volume prune --all.
func (s *Server) volumePrune(w *responseWriter, r *request) error {
	all, err := pruneFilter(r, "all", true, "invalid filter %q: berth's volume prune takes all=true only")
	if err != nil {
		return err
	}
	removed, reclaimed, err := s.eng.PruneVolumes(r.Context(), all)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apivolume.PruneReport{VolumesDeleted: orEmpty(removed), SpaceReclaimed: uint64(reclaimed)})
}

// mountOptions copies the create request's mounts into the engine's
// options: Binds, Mounts, VolumesFrom, and Config.Volumes (anonymous).
func mountOptions(opts *engine.ContainerCreateOptions, cfg *container.Config, hc *container.HostConfig) error {
	if hc.VolumeDriver != "" && hc.VolumeDriver != "local" {
		return badRequestf("volume driver %q is not supported by berth (local only)", hc.VolumeDriver)
	}
	opts.Binds, opts.VolumesFrom = hc.Binds, hc.VolumesFrom
	for dest := range cfg.Volumes {
		opts.Volumes = append(opts.Volumes, dest)
	}
	sort.Strings(opts.Volumes)
	for _, m := range hc.Mounts {
		vm, err := apiMount(m)
		if err != nil {
			return err
		}
		opts.Mounts = append(opts.Mounts, vm)
	}
	return nil
}

// apiMount turns one HostConfig.Mounts entry into the engine's form,
// refusing the options berth does not implement.
func apiMount(m mount.Mount) (volume.Mount, error) {
	vm := volume.Mount{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
	if b := m.BindOptions; b != nil {
		if b.NonRecursive || b.CreateMountpoint || b.ReadOnlyNonRecursive || b.ReadOnlyForceRecursive {
			return vm, badRequestf("bind options other than Propagation are not supported by berth")
		}
		vm.Propagation = string(b.Propagation)
	}
	if v := m.VolumeOptions; v != nil {
		if v.Subpath != "" || len(v.Labels) > 0 || (v.DriverConfig != nil && v.DriverConfig.Name != "" && v.DriverConfig.Name != "local") {
			return vm, badRequestf("volume options other than NoCopy are not supported by berth")
		}
		vm.NoCopy = v.NoCopy
	}
	if t := m.TmpfsOptions; t != nil {
		if len(t.Options) > 0 {
			return vm, badRequestf("tmpfs Options are not supported by berth (SizeBytes and Mode are)")
		}
		vm.TmpfsSize, vm.TmpfsMode = t.SizeBytes, uint32(t.Mode.Perm())
		if t.Mode&os.ModeSticky != 0 {
			vm.TmpfsMode |= 0o1000
		}
	}
	if m.ImageOptions != nil || m.ClusterOptions != nil {
		return vm, badRequestf("mount type %q options are not supported by berth", m.Type)
	}
	if err := vm.Validate(); err != nil {
		return vm, badRequestf("%v", err)
	}
	return vm, nil
}

// mountPoints is inspect's Mounts array.
func mountPoints(c *store.Container) []container.MountPoint {
	out := []container.MountPoint{}
	for _, mp := range c.Mounts {
		out = append(out, container.MountPoint{
			Type: mount.Type(mp.Type), Name: mp.Name, Source: mp.Source, Destination: mp.Destination,
			Driver: mp.Driver, Mode: mp.Mode, RW: mp.RW, Propagation: mount.Propagation(mp.Propagation),
		})
	}
	return out
}

// configVolumes is inspect's Config.Volumes: the anonymous volume paths.
func configVolumes(c *store.Container) map[string]struct{} {
	if len(c.Config.Volumes) == 0 {
		return nil
	}
	out := map[string]struct{}{}
	for _, v := range c.Config.Volumes {
		out[path.Clean(v)] = struct{}{}
	}
	return out
}
