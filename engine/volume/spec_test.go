package volume

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseVolume(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Mount
	}{
		{"/data", Mount{Type: TypeVolume, Target: "/data"}},
		{"/host:/in", Mount{Type: TypeBind, Source: "/host", Target: "/in", CreateSource: true}},
		{"/host:/in:ro", Mount{Type: TypeBind, Source: "/host", Target: "/in", ReadOnly: true, Mode: "ro", CreateSource: true}},
		{"/host:/in:rw,rslave", Mount{Type: TypeBind, Source: "/host", Target: "/in", Mode: "rw,rslave", Propagation: "rslave", CreateSource: true}},
		{"myvol:/data", Mount{Type: TypeVolume, Source: "myvol", Target: "/data"}},
		{"myvol:/data:ro,nocopy", Mount{Type: TypeVolume, Source: "myvol", Target: "/data", ReadOnly: true, NoCopy: true, Mode: "ro,nocopy"}},
		{"myvol:/data:z", Mount{Type: TypeVolume, Source: "myvol", Target: "/data", Mode: "z"}},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := ParseVolume(tc.raw)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseVolumeErrors(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"", "invalid volume specification: ''"},
		{"/data:ro", "invalid volume specification: '/data:ro'"},
		{"a:b:c:d", "invalid volume specification: 'a:b:c:d'"},
		{"/host:/in:rx", "invalid mode: rx"},
		{"/host:/in:ro,rw", "invalid mode: ro,rw"},
		{"/host:relative", `invalid volume specification: '/host:relative': invalid mount config for type "bind": invalid mount path: 'relative' mount path must be absolute`},
		{"/host:/", `invalid volume specification: '/host:/': invalid specification: destination can't be '/'`},
		{"relative", `invalid volume specification: 'relative': invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute`},
		{"vol:/in:rshared", `invalid volume specification: 'vol:/in:rshared': invalid mount config for type "volume": field BindOptions must not be specified`},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			_, err := ParseVolume(tc.raw)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.True(t, errors.Is(err, ErrInvalid))
		})
	}
}

func TestParseMount(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Mount
	}{
		{"type=bind,source=/h,target=/in", Mount{Type: TypeBind, Source: "/h", Target: "/in"}},
		{"type=bind,src=/h,dst=/in,readonly", Mount{Type: TypeBind, Source: "/h", Target: "/in", ReadOnly: true}},
		{"type=bind,src=/h,destination=/in,ro=false,bind-propagation=rshared", Mount{Type: TypeBind, Source: "/h", Target: "/in", Propagation: "rshared"}},
		{"source=v1,target=/data", Mount{Type: TypeVolume, Source: "v1", Target: "/data"}},
		{"type=volume,target=/data,volume-nocopy", Mount{Type: TypeVolume, Target: "/data", NoCopy: true}},
		{"type=tmpfs,target=/run,tmpfs-size=1024,tmpfs-mode=1770", Mount{Type: TypeTmpfs, Target: "/run", TmpfsSize: 1024, TmpfsMode: 0o1770}},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := ParseMount(tc.raw)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseMountErrors(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"type=bind,source=/h", `invalid mount config for type "bind": field Target must not be empty`},
		{"type=bind,target=/in", `invalid mount config for type "bind": field Source must not be empty`},
		{"type=bind,source=rel,target=/in", `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`},
		{"type=volume,target=/in,readonly", `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`},
		{"type=tmpfs,source=x,target=/in", `invalid mount config for type "tmpfs": field Source must not be specified`},
		{"type=npipe,source=x,target=/in", `invalid mount config for type "npipe": mount type unknown`},
		{"type=bind,source=/h,target=/in,colour=red", `unexpected key 'colour' in 'colour=red'`},
		{"type=bind,source", `invalid field 'source' must be a key=value pair`},
		{"type=bind,source=/h,target=/in,volume-nocopy", `cannot mix 'volume-*' options with mount type 'bind'`},
		{"type=volume,target=/in,bind-propagation=shared", `cannot mix 'bind-*' options with mount type 'volume'`},
		{"type=bind,source=/h,target=/in,readonly=maybe", `invalid value for readonly: maybe`},
		{"type=volume,source=v,target=/in,volume-driver=nfs", `mount option volume-driver is not supported by berth`},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			_, err := ParseMount(tc.raw)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.True(t, errors.Is(err, ErrInvalid))
		})
	}
}

func TestValidateName(t *testing.T) {
	assert.NoError(t, ValidateName("my-vol_1.2"))
	for _, bad := range []string{"a", "foo/bar", "-x", "", "../x"} {
		err := ValidateName(bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "includes invalid characters for a local volume name")
	}
}

func TestParseVolumesFrom(t *testing.T) {
	c, mode, err := ParseVolumesFrom("web:ro")
	require.NoError(t, err)
	assert.Equal(t, [2]string{"web", "ro"}, [2]string{c, mode})
	_, _, err = ParseVolumesFrom("web:rx")
	assert.EqualError(t, err, "invalid mode for volumes-from: rx")
}
