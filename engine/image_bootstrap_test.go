//go:build linux

package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

func TestBootstrapBusybox(t *testing.T) {
	bin := imgStaticBusybox(t)
	ctx := context.Background()
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	first := imgEngine(t)
	res, err := first.BootstrapBusybox(ctx, engine.BootstrapBusyboxOptions{From: bin})
	if err != nil {
		t.Fatal(err)
	}
	img := res.Image
	if res.Applets < 100 || !strings.HasPrefix(res.Version, "BusyBox") || res.Source != bin {
		t.Errorf("result %+v", res)
	}
	if strings.Join(img.Refs, " ") != "docker.io/library/busybox:latest" {
		t.Errorf("refs %v", img.Refs)
	}
	cfg := img.Config
	if strings.Join(cfg.Config.Cmd, " ") != "sh" || strings.Join(cfg.Config.Env, " ") != "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ||
		cfg.OS != "linux" || cfg.Created.Unix() != 1700000000 || len(cfg.History) != 2 || !cfg.History[1].EmptyLayer {
		t.Errorf("config %+v", cfg)
	}

	// Same busybox, same time: same image, byte for byte.
	second := imgEngine(t)
	again, err := second.BootstrapBusybox(ctx, engine.BootstrapBusyboxOptions{From: bin, Ref: "mybox:1"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Image.ID != img.ID || again.Image.ManifestDigest != img.ManifestDigest {
		t.Errorf("second bootstrap gave %s, first %s", again.Image.ID, img.ID)
	}

	// The layer: what an image needs, owned by root, with the right modes.
	f, err := first.Store.OpenBlob(img.Manifest.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := layer.Decompress(f)
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	var passwd string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries[strings.TrimSuffix(hdr.Name, "/")] = hdr
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.ModTime.Unix() != 1700000000 {
			t.Errorf("%s: uid %d gid %d mtime %v", hdr.Name, hdr.Uid, hdr.Gid, hdr.ModTime)
		}
		if hdr.Name == "etc/passwd" {
			data, _ := io.ReadAll(tr)
			passwd = string(data)
		}
	}
	checks := []struct {
		path string
		typ  byte
		mode int64
	}{
		{"bin/busybox", tar.TypeReg, 0o755}, {"tmp", tar.TypeDir, 0o1777}, {"root", tar.TypeDir, 0o700},
		{"etc/group", tar.TypeReg, 0o644}, {"etc/hostname", tar.TypeReg, 0o644}, {"home", tar.TypeDir, 0o755},
		{"proc", tar.TypeDir, 0o555}, {"dev", tar.TypeDir, 0o755}, {"var", tar.TypeDir, 0o755},
	}
	for _, c := range checks {
		hdr := entries[c.path]
		if hdr == nil || hdr.Typeflag != c.typ || hdr.Mode != c.mode {
			t.Errorf("%s: %+v, want type %c mode %o", c.path, hdr, c.typ, c.mode)
		}
	}
	if sh := entries["bin/sh"]; sh == nil || sh.Typeflag != tar.TypeLink || sh.Linkname != "bin/busybox" {
		t.Errorf("bin/sh: %+v, want a hard link to bin/busybox", sh)
	}
	if !strings.HasPrefix(passwd, "root:x:0:0:root:/root:/bin/sh\n") || !strings.Contains(passwd, "nobody:x:65534:65534:") {
		t.Errorf("etc/passwd:\n%s", passwd)
	}
}

func TestBootstrapBusyboxRefusesWhatCannotWork(t *testing.T) {
	e := imgEngine(t)
	ctx := context.Background()
	text := filepath.Join(t.TempDir(), "busybox")
	os.WriteFile(text, []byte("#!/bin/sh\necho not busybox\n"), 0o755)
	cases := map[string]string{
		filepath.Join(t.TempDir(), "missing"): "no such file",
		text:                                  "not an ELF executable",
	}
	if dyn := imgDynamicBinary(); dyn != "" {
		cases[dyn] = "apt-get install busybox-static"
	}
	for from, want := range cases {
		_, err := e.BootstrapBusybox(ctx, engine.BootstrapBusyboxOptions{From: from})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--from %s: %v, want %q", from, err, want)
		}
	}
	if _, err := e.BootstrapBusybox(ctx, engine.BootstrapBusyboxOptions{Ref: "Bad"}); err == nil ||
		err.Error() != "invalid reference format: repository name must be lowercase" {
		t.Errorf("bad name: %v", err)
	}
	if images, _ := e.Store.Images(); len(images) != 0 {
		t.Errorf("refused bootstraps left %d images", len(images))
	}
}

// imgDynamicBinary finds a dynamically linked executable on the host.
func imgDynamicBinary() string {
	for _, p := range []string{"/bin/ls", "/usr/bin/env", "/bin/cat"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				f.Close()
				return p
			}
		}
		f.Close()
	}
	return ""
}

func TestBootstrapDebianWithoutMmdebstrap(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000") // no Release to fetch
	e := imgEngine(t)
	_, err := e.BootstrapDebian(context.Background(), engine.BootstrapDebianOptions{CacheDir: t.TempDir()})
	if !errors.Is(err, engine.ErrNoMmdebstrap) || !strings.Contains(err.Error(), "apt-get install mmdebstrap") {
		t.Errorf("without mmdebstrap: %v", err)
	}
}

// TestBootstrapDebianFromCache imports a cached mmdebstrap tarball into two
// roots: no mmdebstrap runs (it is not on the PATH), no mirror is asked (the
// time comes from SOURCE_DATE_EPOCH), and both roots get the same image ID.
func TestBootstrapDebianFromCache(t *testing.T) {
	testenv.RequireRoot(t)
	t.Setenv("PATH", t.TempDir())
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	cache := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct {
		name string
		body string
	}{{"etc/", ""}, {"etc/debian_version", "12.0\n"}, {"bin/", ""}, {"bin/sh", "#!fake\n"}} {
		hdr := &tar.Header{Name: e.name, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(1600000000, 0)}
		if !strings.HasSuffix(e.name, "/") {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	name := filepath.Join(cache, "bookworm-"+runtime.GOARCH+"-minbase-1700000000.tar")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 2 {
		e := imgEngine(t)
		var progress bytes.Buffer
		res, err := e.BootstrapDebian(context.Background(), engine.BootstrapDebianOptions{CacheDir: cache, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(progress.String(), "cached tarball "+name) {
			t.Errorf("progress %q does not name the cached tarball", progress.String())
		}
		cfg := res.Image.Config
		if cfg.Created.Unix() != 1700000000 || strings.Join(cfg.Config.Cmd, " ") != "bash" || res.Image.Refs[0] != "docker.io/library/debian:bookworm" {
			t.Errorf("image %+v refs %v", cfg, res.Image.Refs)
		}
		ids = append(ids, res.Image.ID.String())
	}
	if ids[0] != ids[1] {
		t.Errorf("two roots, one snapshot, two IDs: %s", ids)
	}
}

// TestLoadOnAFullDisk loads into a store on a small tmpfs: the load fails
// with a clear message and the store is left as it was, whether the disk
// fills while staging or while storing blobs.
func TestLoadOnAFullDisk(t *testing.T) {
	testenv.RequireRoot(t)
	src := imgEngine(t)
	// Incompressible content, so sizes are predictable.
	random := make([]byte, 600<<10)
	rf, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(rf, random)
	rf.Close()
	img := imgPut(t, src, nil, "big", imgLayerTar(t, imgFile{"random", string(random)}))
	imgTag(t, src, img, "big")
	archive := imgSave(t, src, "big")

	for _, size := range []string{"400k", "1100k"} {
		t.Run(size, func(t *testing.T) {
			mnt := t.TempDir()
			if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size); err != nil {
				if testenv.InCI() {
					t.Fatalf("CI=true and cannot mount a tmpfs: %v", err)
				}
				t.Skipf("cannot mount a tmpfs: %v", err)
			}
			t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
			e, err := engine.Open(filepath.Join(mnt, "root"), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			before := imgSnapshot(t, e)
			_, err = e.Load(context.Background(), bytes.NewReader(archive))
			if err == nil || !strings.Contains(err.Error(), "no space left on device") {
				t.Fatalf("Load on a full disk = %v", err)
			}
			t.Log(err)
			if after := imgSnapshot(t, e); !after.equal(before) {
				t.Errorf("a failed load changed the store:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}
