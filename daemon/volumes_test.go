package daemon

import (
	"net/http"
	"os"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/volume"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMountOptions: the create request's Binds, Mounts, VolumesFrom and
// Config.Volumes reach the engine; what berth does not implement is a 400
// that names it.
func TestMountOptions(t *testing.T) {
	var opts engine.ContainerCreateOptions
	cfg := &container.Config{Volumes: map[string]struct{}{"/b": {}, "/a": {}}}
	hc := &container.HostConfig{
		Binds:       []string{"data:/data:ro"},
		VolumesFrom: []string{"web:ro"},
		Mounts: []mount.Mount{
			{Type: mount.TypeVolume, Source: "v1", Target: "/v", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
			{Type: mount.TypeBind, Source: "/h", Target: "/h", ReadOnly: true, BindOptions: &mount.BindOptions{Propagation: mount.PropagationRSlave}},
			{Type: mount.TypeTmpfs, Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 4096, Mode: os.ModeSticky | 0o777}},
		},
	}
	require.NoError(t, mountOptions(&opts, cfg, hc))
	assert.Equal(t, []string{"data:/data:ro"}, opts.Binds)
	assert.Equal(t, []string{"web:ro"}, opts.VolumesFrom)
	assert.Equal(t, []string{"/a", "/b"}, opts.Volumes)
	assert.Equal(t, []volume.Mount{
		{Type: "volume", Source: "v1", Target: "/v", NoCopy: true},
		{Type: "bind", Source: "/h", Target: "/h", ReadOnly: true, Propagation: "rslave"},
		{Type: "tmpfs", Target: "/t", TmpfsSize: 4096, TmpfsMode: 0o1777},
	}, opts.Mounts)
}

func TestMountOptionsRefusals(t *testing.T) {
	for _, tc := range []struct {
		hc   container.HostConfig
		want string
	}{
		{container.HostConfig{VolumeDriver: "nfs"}, `volume driver "nfs" is not supported`},
		{container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "v", Target: "/v", VolumeOptions: &mount.VolumeOptions{Subpath: "x"}}}}, "volume options other than NoCopy"},
		{container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/h", Target: "/h", BindOptions: &mount.BindOptions{NonRecursive: true}}}}, "bind options other than Propagation"},
		{container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/h"}}}, `invalid mount config for type "bind": field Target must not be empty`},
		{container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeNamedPipe, Source: "p", Target: "/p"}}}, `invalid mount config for type "npipe": mount type unknown`},
		{container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeImage, Source: "busybox", Target: "/i"}}}, `mount type unknown`},
	} {
		var opts engine.ContainerCreateOptions
		err := mountOptions(&opts, &container.Config{}, &tc.hc)
		require.Error(t, err, tc.want)
		assert.Contains(t, err.Error(), tc.want)
		assert.Equal(t, http.StatusBadRequest, statusOf(err), tc.want)
	}
}
