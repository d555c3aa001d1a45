//go:build linux

package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestCreateResolvesMounts: -v, --mount and --volumes-from become the
// container's mount points, parents first, named volumes created, with
// Docker's refusals for duplicates and missing --mount sources.
func TestCreateResolvesMounts(t *testing.T) {
	testenv.RequireRoot(t)
	e, _ := ctrEngine(t)
	ctx := context.Background()
	host := t.TempDir()
	c := ctrCreate(t, e, engine.ContainerCreateOptions{
		Binds:  []string{"data:/data/sub", host + ":/data:ro", "/anon"},
		Mounts: []volume.Mount{{Type: volume.TypeVolume, Source: "more", Target: "/more", NoCopy: true}},
	})
	want := []string{"/anon", "/data", "/more", "/data/sub"}
	if len(c.Mounts) != len(want) {
		t.Fatalf("mounts = %+v", c.Mounts)
	}
	for i, mp := range c.Mounts {
		if mp.Destination != want[i] {
			t.Errorf("mount %d at %s, want %s", i, mp.Destination, want[i])
		}
	}
	if m := c.Mounts[1]; m.Type != "bind" || m.RW || m.Mode != "ro" || m.Propagation != "rprivate" {
		t.Errorf("bind = %+v", m)
	}
	if m := c.Mounts[0]; !m.Anonymous || len(m.Name) != 64 || m.Source != e.Store.VolumeDataDir(m.Name) {
		t.Errorf("anonymous = %+v", m)
	}
	for _, name := range []string{"data", "more", c.Mounts[0].Name} {
		if _, err := e.Volume(ctx, name); err != nil {
			t.Errorf("volume %s: %v", name, err)
		}
	}
	// --volumes-from takes them all, ro when asked.
	c2 := ctrCreate(t, e, engine.ContainerCreateOptions{VolumesFrom: []string{c.Name + ":ro"}})
	if len(c2.Mounts) != 4 || c2.Mounts[3].RW || c2.Mounts[3].Name != "data" {
		t.Errorf("volumes-from = %+v", c2.Mounts)
	}
	users, err := e.VolumeUsers("data")
	if err != nil || len(users) != 2 {
		t.Errorf("users of data = %v, %v", users, err)
	}
	// rm -v of the first leaves the anonymous volume the second still uses.
	if err := e.RemoveContainerVolumes(ctx, c.ID, false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Volume(ctx, c.Mounts[0].Name); err != nil {
		t.Errorf("anonymous volume in use was removed: %v", err)
	}
	if err := e.RemoveVolume(ctx, "data", false); !errors.Is(err, engine.ErrVolumeInUse) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("rm of a used volume: %v", err)
	}
	if err := e.RemoveContainerVolumes(ctx, c2.ID, false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Volume(ctx, c.Mounts[0].Name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("anonymous volume survived the last rm -v: %v", err)
	}
	if _, err := e.Volume(ctx, "data"); err != nil {
		t.Errorf("named volume removed by rm -v: %v", err)
	}
}

func TestCreateRefusesBadMounts(t *testing.T) {
	testenv.RequireRoot(t)
	e, _ := ctrEngine(t)
	missing := filepath.Join(t.TempDir(), "absent")
	for _, tc := range []struct {
		opts engine.ContainerCreateOptions
		want string
	}{
		{engine.ContainerCreateOptions{Binds: []string{"aa:/x", "bb:/x"}}, "Duplicate mount point: /x"},
		{engine.ContainerCreateOptions{Binds: []string{"a/b:/x"}}, `create a/b: "a/b" includes invalid characters for a local volume name`},
		{engine.ContainerCreateOptions{Mounts: []volume.Mount{{Type: "bind", Source: missing, Target: "/x"}}},
			"invalid mount config for type \"bind\": bind source path does not exist: " + missing},
		{engine.ContainerCreateOptions{VolumesFrom: []string{"nosuch"}}, "No such container: nosuch"},
	} {
		tc.opts.Image = "busybox"
		_, err := e.CreateContainer(context.Background(), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.opts, err, tc.want)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("--mount created its missing source: %v", err)
	}
	if vols, _ := e.Volumes(context.Background()); len(vols) != 0 {
		t.Errorf("refused creates left volumes: %v", vols)
	}
}

// volumeImage imports an image holding /p: a hard-linked pair (a, sub/b),
// a file with user.x and security.capability, and a VOLUME /seed with a
// file in it.
func volumeImage(t *testing.T, e *engine.Engine) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1600000000, 0)
	for _, h := range []*tar.Header{
		{Name: "p/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 7, Gid: 8},
		{Name: "p/sub/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "p/a", Typeflag: tar.TypeReg, Mode: 0o640, Size: 6, Uid: 1000},
		{Name: "p/sub/b", Typeflag: tar.TypeLink, Linkname: "p/a"},
		{Name: "p/cap", Typeflag: tar.TypeReg, Mode: 0o755, Size: 6, PAXRecords: map[string]string{
			"SCHILY.xattr.user.x":              "1",
			"SCHILY.xattr.security.capability": string(fileCapability()),
		}},
		{Name: "seed/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "seed/f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 6},
	} {
		h.ModTime, h.Format = mtime, tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte("shared"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	img, err := e.Import(context.Background(), &buf, engine.ImportOptions{Changes: []string{"VOLUME /seed", `CMD ["true"]`}})
	if err != nil {
		t.Fatal(err)
	}
	return img.ID.String()
}

// fileCapability is a security.capability value (revision 2, effective)
// granting cap_net_bind_service, as setcap writes it.
func fileCapability() []byte {
	var b bytes.Buffer
	for _, v := range []uint32{0x02000000 | 1, 1 << unix.CAP_NET_BIND_SERVICE, 0, 0, 0} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

// TestCreateFillsVolumes: create (no start) fills an empty named or
// anonymous volume from the image, keeping the hard-linked pair one inode
// and the xattrs; nocopy leaves a fresh volume empty; a volume with content
// is never overwritten.
func TestCreateFillsVolumes(t *testing.T) {
	testenv.RequireRoot(t)
	e, _ := ctrEngine(t)
	img := volumeImage(t, e)
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Image: img, Binds: []string{"vol:/p", "empty:/p/sub:nocopy"}})
	data := e.Store.VolumeDataDir("vol")
	var a, b unix.Stat_t
	if err := unix.Lstat(filepath.Join(data, "a"), &a); err != nil {
		t.Fatalf("create did not fill the volume: %v", err)
	}
	if err := unix.Lstat(filepath.Join(data, "sub/b"), &b); err != nil {
		t.Fatal(err)
	}
	if a.Ino != b.Ino || a.Nlink != 2 || a.Uid != 1000 || a.Mode&0o7777 != 0o640 {
		t.Errorf("a: ino %d nlink %d uid %d mode %o; sub/b ino %d: want one inode, two links", a.Ino, a.Nlink, a.Uid, a.Mode&0o7777, b.Ino)
	}
	val := make([]byte, 64)
	for name, want := range map[string]string{"user.x": "1", "security.capability": string(fileCapability())} {
		n, err := unix.Lgetxattr(filepath.Join(data, "cap"), name, val)
		if err != nil || string(val[:n]) != want {
			t.Errorf("cap %s = %x, %v; want %x", name, val[:max(n, 0)], err, want)
		}
	}
	var root unix.Stat_t
	if err := unix.Stat(data, &root); err != nil || root.Uid != 7 || root.Mode&0o7777 != 0o750 {
		t.Errorf("volume root: uid %d mode %o (%v)", root.Uid, root.Mode&0o7777, err)
	}
	if entries, _ := os.ReadDir(e.Store.VolumeDataDir("empty")); len(entries) != 0 {
		t.Errorf("nocopy volume holds %d entries", len(entries))
	}
	seed := c.Mounts[1]
	if seed.Destination != "/seed" || !seed.Anonymous {
		t.Fatalf("mounts %+v", c.Mounts)
	}
	if got, _ := os.ReadFile(filepath.Join(e.Store.VolumeDataDir(seed.Name), "f")); string(got) != "shared" {
		t.Errorf("anonymous volume of VOLUME /seed: f = %q", got)
	}

	// A volume with content keeps it: the next create copies nothing.
	if err := os.WriteFile(filepath.Join(data, "a"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(data, "cap")); err != nil {
		t.Fatal(err)
	}
	ctrCreate(t, e, engine.ContainerCreateOptions{Image: img, Binds: []string{"vol:/p"}})
	if got, _ := os.ReadFile(filepath.Join(data, "sub/b")); string(got) != "mine" {
		t.Errorf("sub/b = %q, want the volume's own content", got)
	}
	if _, err := os.Lstat(filepath.Join(data, "cap")); err == nil {
		t.Error("a volume with content was filled again")
	}

	// The copy's scratch directory (beside _data, on its file system)
	// goes, and so does one a killed copy left.
	if _, err := e.CreateVolume(context.Background(), "third", nil); err != nil {
		t.Fatal(err)
	}
	third := filepath.Dir(e.Store.VolumeDataDir("third"))
	if err := os.MkdirAll(filepath.Join(third, ".tmp-copy-killed/x"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctrCreate(t, e, engine.ContainerCreateOptions{Image: img, Binds: []string{"third:/p"}})
	for _, dir := range []string{third, filepath.Dir(data)} {
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("%s holds %d entries, want volume.json and _data only", dir, len(entries))
		}
	}
	if _, err := os.Stat(filepath.Join(third, "_data/sub/b")); err != nil {
		t.Error(err)
	}
}

// TestStartDoesNotFillVolumes: the copy happens at create only, as in
// Docker: a volume emptied between create and start stays empty.
func TestStartDoesNotFillVolumes(t *testing.T) {
	testenv.RequireRoot(t)
	e, _ := ctrEngine(t)
	c := ctrCreate(t, e, engine.ContainerCreateOptions{Binds: []string{"etc:/etc"}, Cmd: []string{"ls", "-A", "/etc"}})
	data := e.Store.VolumeDataDir("etc")
	if _, err := os.Stat(filepath.Join(data, "passwd")); err != nil {
		t.Fatalf("create did not fill the volume: %v", err)
	}
	entries, _ := os.ReadDir(data)
	for _, ent := range entries {
		if err := os.RemoveAll(filepath.Join(data, ent.Name())); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if code, err := e.RunContainer(context.Background(), c.ID, engine.Stdio{Out: &out}); err != nil || code != 0 {
		t.Fatalf("run: %d %v", code, err)
	}
	// The runtime's bind mounts of hostname, hosts and resolv.conf create
	// their mount points, nothing else.
	for _, name := range strings.Fields(out.String()) {
		if name != "hostname" && name != "hosts" && name != "resolv.conf" {
			t.Errorf("start filled the emptied volume: /etc has %s", name)
		}
	}
}
