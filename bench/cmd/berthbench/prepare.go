//go:build linux

package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// baseImage is the busybox image every tool runs, by the name each knows it.
const (
	baseBerth  = "busybox"
	basePodman = "docker.io/library/busybox:latest"
)

// Prepare makes the bench directory from scratch: the same busybox base for
// every tool, from `berth save`.
func (e *Env) Prepare() error {
	if os.Geteuid() != 0 {
		return errors.New("berthbench needs root: containers, overlay mounts and cgroups (run as root)")
	}
	if err := e.Reset(); err != nil {
		return err
	}
	for _, d := range []string{e.Dir, e.path("out"), e.RunDir, e.dockerConfig()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// Podman, Buildah and skopeo read REGISTRY_AUTH_FILE before any login
	// and refuse a missing file: start with no credentials.
	if err := os.WriteFile(filepath.Join(e.dockerConfig(), "config.json"), []byte("{\"auths\":{}}\n"), 0o600); err != nil {
		return err
	}
	e.logf("== prepare %s", e.Dir)
	e.buildGoHello()
	e.buildCtrFloor()
	if err := e.do(e.berth("bootstrap", baseBerth)); err != nil {
		return fmt.Errorf("berth bootstrap busybox: %w", err)
	}
	tarPath := e.path("bb.tar")
	if err := e.do(e.berth("save", "-o", tarPath, baseBerth)); err != nil {
		return fmt.Errorf("berth save: %w", err)
	}
	bad, err := zeroModeHardlinks(tarPath)
	if err != nil {
		return fmt.Errorf("inspect bb.tar: %w", err)
	}
	if bad > 0 {
		if err := e.reimportBase(tarPath, bad); err != nil {
			return err
		}
	}
	if err := e.unpackBundle(tarPath); err != nil {
		return err
	}
	if err := e.writeContainersConfig(); err != nil {
		return err
	}
	if e.has("podman") {
		if err := e.do(e.podman("load", "-q", "-i", tarPath)); err != nil {
			return fmt.Errorf("podman load: %w", err)
		}
		e.checkPodmanRuntime()
	}
	e.logf("   base image ready for berth%s", e.peerList())
	return nil
}

func (e *Env) peerList() string {
	var s string
	for _, t := range []string{"podman", "buildah", "runc", "crun"} {
		if e.has(t) {
			s += ", " + t
		}
	}
	return s
}

// zeroModeHardlinks counts hard-link entries with permission bits 0 in the
// layers of a docker-archive. Docker's and Podman's layer appliers chmod a
// hard link to its header's mode, which changes the shared inode: a layer
// whose links say 0000 leaves the linked binary unexecutable there.
func zeroModeHardlinks(archive string) (int, error) {
	f, err := os.Open(archive)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var manifest []struct{ Layers []string }
	layers := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return 0, err
		}
		name := path.Clean(hdr.Name)
		if name == "manifest.json" {
			if err := json.Unmarshal(data, &manifest); err != nil {
				return 0, fmt.Errorf("manifest.json: %w", err)
			}
			continue
		}
		layers[name] = data
	}
	if len(manifest) == 0 {
		return 0, errors.New("no manifest.json: not a docker-archive")
	}
	bad := 0
	for _, l := range manifest[0].Layers {
		data, ok := layers[path.Clean(l)]
		if !ok {
			return 0, fmt.Errorf("layer %s missing from the archive", l)
		}
		var r io.Reader = bytes.NewReader(data)
		if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return 0, err
			}
			r = zr
		}
		lr := tar.NewReader(r)
		for {
			hdr, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("layer %s: %w", l, err)
			}
			if hdr.Typeflag == tar.TypeLink && hdr.Mode&0o7777 == 0 {
				bad++
			}
		}
	}
	return bad, nil
}

// reimportBase works around a base layer whose hard links carry mode 0:
// the layer is unpacked with GNU tar and imported back through `berth
// import`, whose normalised layer gives links their file's mode. Every tool
// then gets that image, so the comparison still uses one image.
func (e *Env) reimportBase(tarPath string, bad int) error {
	e.note("`berth bootstrap busybox` wrote %d hard links with mode 0000; Podman's layer applier chmods a link to its header's mode, "+
		"which left /bin/busybox unexecutable there. The bench base is that image unpacked and re-imported with `berth import` "+
		"(same files, links with the file's mode), used by every tool", bad)
	layoutDir := e.path("oci-bootstrap")
	if err := os.MkdirAll(layoutDir, 0o755); err != nil {
		return err
	}
	if err := e.do(Cmd{Argv: []string{"tar", "-xf", tarPath, "-C", layoutDir}}); err != nil {
		return err
	}
	layer, cfg, err := firstLayerAndConfig(layoutDir)
	if err != nil {
		return err
	}
	rootfs := e.path("rootfs-bootstrap")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	if err := e.do(Cmd{Argv: []string{"tar", "-xf", filepath.Join(layoutDir, layer), "-C", rootfs}}); err != nil {
		return err
	}
	args := []string{"import"}
	for _, env := range cfg.Config.Env {
		args = append(args, "-c", "ENV "+env)
	}
	if len(cfg.Config.Cmd) > 0 {
		cmd, _ := json.Marshal(cfg.Config.Cmd)
		args = append(args, "-c", "CMD "+string(cmd))
	}
	args = append(args, "-", baseBerth)
	tarball := e.path("rootfs-bootstrap.tar")
	if err := e.do(Cmd{Argv: []string{"tar", "-C", rootfs, "-cf", tarball, "."}}); err != nil {
		return err
	}
	if err := e.do(e.berth("rmi", baseBerth)); err != nil {
		return err
	}
	imp := e.berth(args...)
	imp.Stdin = tarball
	if err := e.do(imp); err != nil {
		return fmt.Errorf("berth import: %w", err)
	}
	for _, p := range []string{layoutDir, rootfs, tarball} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	if err := e.do(e.berth("save", "-o", tarPath, baseBerth)); err != nil {
		return err
	}
	if bad, err := zeroModeHardlinks(tarPath); err != nil || bad > 0 {
		return fmt.Errorf("re-imported base still has %d zero-mode hard links (%v)", bad, err)
	}
	return nil
}

type imageConfig struct {
	Config struct {
		Env []string
		Cmd []string
	} `json:"config"`
}

// firstLayerAndConfig reads a docker-archive's manifest.json in dir.
func firstLayerAndConfig(dir string) (string, imageConfig, error) {
	var cfg imageConfig
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return "", cfg, err
	}
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(data, &manifest); err != nil || len(manifest) == 0 || len(manifest[0].Layers) != 1 {
		return "", cfg, fmt.Errorf("manifest.json: want one image with one layer (%v)", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, manifest[0].Config))
	if err != nil {
		return "", cfg, err
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", cfg, err
	}
	return manifest[0].Layers[0], cfg, nil
}

// unpackBundle makes the OCI bundle runc and crun run, from the saved image:
// umoci unpacks the OCI layout inside bb.tar (tar when umoci is missing),
// and config.json is `runc spec`'s (or `crun spec`'s) with the changes that
// make it do what `berth run --rm busybox true` does: no terminal, `true`,
// a writable root, and the host's network namespace (Berth's default).
func (e *Env) unpackBundle(tarPath string) error {
	layout := e.path("oci")
	if err := os.MkdirAll(layout, 0o755); err != nil {
		return err
	}
	if err := e.do(Cmd{Argv: []string{"tar", "-xf", tarPath, "-C", layout}}); err != nil {
		return err
	}
	bundle := e.bundle()
	if e.has("umoci") {
		ref, err := layoutRef(layout, "busybox")
		if err != nil {
			return err
		}
		if err := e.do(Cmd{Argv: []string{"umoci", "unpack", "--image", layout + ":" + ref, bundle}}); err != nil {
			return fmt.Errorf("umoci unpack: %w", err)
		}
		// umoci's own config.json and mtree are replaced by the runtime's spec.
		for _, f := range []string{"config.json", "umoci.json"} {
			os.Remove(filepath.Join(bundle, f))
		}
		matches, _ := filepath.Glob(filepath.Join(bundle, "*.mtree"))
		for _, m := range matches {
			os.Remove(m)
		}
	} else {
		layer, _, err := firstLayerAndConfig(layout)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(e.rootfs(), 0o755); err != nil {
			return err
		}
		if err := e.do(Cmd{Argv: []string{"tar", "-xf", filepath.Join(layout, layer), "-C", e.rootfs()}}); err != nil {
			return err
		}
	}
	spec := ""
	switch {
	case e.has("runc"):
		spec = "runc"
	case e.has("crun"):
		spec = "crun"
	default:
		return nil
	}
	if err := e.do(Cmd{Argv: []string{spec, "spec"}, Dir: bundle}); err != nil {
		return fmt.Errorf("%s spec: %w", spec, err)
	}
	return editSpec(filepath.Join(bundle, "config.json"))
}

// layoutRef finds the ref name in an OCI layout whose repository ends in want.
func layoutRef(layout, want string) (string, error) {
	data, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		return "", err
	}
	var idx struct {
		Manifests []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return "", err
	}
	for _, m := range idx.Manifests {
		ref := m.Annotations["org.opencontainers.image.ref.name"]
		repo := ref
		if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
			repo = ref[:i]
		}
		if repo == want || strings.HasSuffix(repo, "/"+want) {
			return ref, nil
		}
	}
	return "", fmt.Errorf("%s: no image named %s in index.json", layout, want)
}

// editSpec turns a default runtime spec into the benchmark's.
func editSpec(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	proc, _ := spec["process"].(map[string]any)
	root, _ := spec["root"].(map[string]any)
	linux, _ := spec["linux"].(map[string]any)
	if proc == nil || root == nil || linux == nil {
		return fmt.Errorf("%s: not a runtime spec", file)
	}
	proc["terminal"] = false
	proc["args"] = []string{"true"}
	root["path"] = "rootfs"
	root["readonly"] = false
	var kept []any
	if nss, ok := linux["namespaces"].([]any); ok {
		for _, ns := range nss {
			if m, ok := ns.(map[string]any); ok && m["type"] == "network" {
				continue
			}
			kept = append(kept, ns)
		}
	}
	linux["namespaces"] = kept
	out, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(file, out, 0o644)
}

// checkPodmanRuntime runs `podman run` once with the default OCI runtime; if
// that fails and runc is installed, containers.conf switches Podman and
// Buildah to runc, and the report says why.
func (e *Env) checkPodmanRuntime() {
	probe := e.podman("run", "--rm", "--pull=never", basePodman, "true")
	if err := e.do(probe); err == nil {
		e.podmanRuns = true
		return
	} else if e.has("runc") {
		f, ferr := os.OpenFile(e.path("containers.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if ferr == nil {
			fmt.Fprintln(f, `runtime = "runc"`)
			f.Close()
		}
		if err2 := e.do(probe); err2 == nil {
			e.podmanRuns = true
			e.note("Podman's default OCI runtime failed here (%s); containers.conf sets runtime = \"runc\" for Podman and Buildah", oneLine(err))
			return
		}
		e.note("`podman run` fails here with its default runtime and with runc: %s", oneLine(err))
	} else {
		e.note("`podman run` fails here with its default runtime and runc is not installed: %s", oneLine(err))
	}
}

func oneLine(err error) string {
	s := err.Error()
	sc := bufio.NewScanner(strings.NewReader(s))
	var parts []string
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// goHello is the start case's Go reference: a static program whose main is
// empty, built by buildGoHello.
func (e *Env) goHello() string { return e.path("go-empty-main") }

// buildGoHello builds goHello with the go command on PATH (the one that
// built berthbench, as make bench runs it), or says in goHelloSkip why not.
func (e *Env) buildGoHello() {
	goBin, err := exec.LookPath("go")
	if err != nil {
		e.goHelloSkip = "no go command on PATH to build it"
		return
	}
	src := e.path("go-empty-main-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		e.goHelloSkip = err.Error()
		return
	}
	files := map[string]string{
		"go.mod":  "module emptymain\n\ngo 1.22\n",
		"main.go": "// An empty main: a Go process's start and exit, nothing else.\npackage main\n\nfunc main() {}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			e.goHelloSkip = err.Error()
			return
		}
	}
	cmd := exec.CommandContext(e.ctx, goBin, "build", "-trimpath", "-o", e.goHello(), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		e.goHelloSkip = fmt.Sprintf("go build failed: %v: %s", err, strings.TrimSpace(string(out)))
	}
}

// ctrFloorSource is the start case's C reference: the kernel's share of a
// container start with Docker's hardening, and no runtime (cref/ctrfloor.c).
//
//go:embed cref/ctrfloor.c
var ctrFloorSource []byte

// ctrFloor is that program, built by buildCtrFloor.
func (e *Env) ctrFloor() string { return e.path("ctrfloor") }

// ctrFloorTmp holds ctrFloor's overlay directories while it runs: in the
// bench directory, on the file system of Berth's store.
func (e *Env) ctrFloorTmp() string { return e.path("ctrfloor-tmp") }

// buildCtrFloor builds ctrFloor, static, with the C compiler on PATH, or
// says in ctrFloorSkip why not: the line is a reference, so a machine
// without a compiler or a static C library only loses it.
func (e *Env) buildCtrFloor() {
	cc, err := exec.LookPath("cc")
	if err != nil {
		e.ctrFloorSkip = "no C compiler (cc) on PATH to build it"
		return
	}
	src := e.path("ctrfloor.c")
	if err := os.MkdirAll(e.ctrFloorTmp(), 0o755); err != nil {
		e.ctrFloorSkip = err.Error()
		return
	}
	if err := os.WriteFile(src, ctrFloorSource, 0o644); err != nil {
		e.ctrFloorSkip = err.Error()
		return
	}
	cmd := exec.CommandContext(e.ctx, cc, "-O2", "-static", "-o", e.ctrFloor(), src)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.ctrFloorSkip = fmt.Sprintf("cc -static failed: %v: %s", err, strings.TrimSpace(string(out)))
	}
}
