package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// baseImagePath is the PATH of Berth's base images, Docker's default.
const baseImagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrNoBusybox is wrapped by the error BootstrapBusybox returns when no
// usable (static) busybox is at hand.
var ErrNoBusybox = errors.New("no static busybox")

// BootstrapResult describes a base image made by a bootstrap.
type BootstrapResult struct {
	Image *store.Image
	// Source is the busybox binary, or the Debian mirror, it came from.
	Source string
	// Version is busybox's version line, or the Debian suite.
	Version string
	// Applets counts busybox's applet links.
	Applets int
}

// BootstrapBusyboxOptions configure BootstrapBusybox.
type BootstrapBusyboxOptions struct {
	// Ref names the image; default busybox:latest.
	Ref string
	// From is the busybox binary; default the host's, which must be static.
	From string
}

// BootstrapBusybox makes a one-layer base image from a static busybox,
// without any network: /bin/busybox and a hard link for every applet it
// lists (busybox --list-full), /etc/passwd, /etc/group and friends, the
// usual directories (/tmp 1777, /root 0700), all owned by root. The layer
// is written straight from these facts (no scratch directory, no root
// needed) with every time set to one fixed instant (SOURCE_DATE_EPOCH, or
// the binary's mtime), so the same busybox always gives the same image ID.
func (e *Engine) BootstrapBusybox(ctx context.Context, opts BootstrapBusyboxOptions) (*BootstrapResult, error) {
	name := opts.Ref
	if name == "" {
		name = "busybox:latest"
	}
	tagged, err := store.ParseTag(name)
	if err != nil {
		return nil, err
	}
	bin, err := findBusybox(opts.From)
	if err != nil {
		return nil, err
	}
	arch, err := checkStaticELF(bin)
	if err != nil {
		return nil, err
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bin, err)
	}
	applets, version, err := busyboxApplets(ctx, bin)
	if err != nil {
		return nil, err
	}
	created, err := fixedTime(bin)
	if err != nil {
		return nil, err
	}
	layerDesc, tr, err := e.putBusyboxLayer(busyboxTree(binData, applets), created)
	if err != nil {
		return nil, err
	}
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: arch},
		Config: ocispec.ImageConfig{
			Env: []string{baseImagePath},
			Cmd: []string{"sh"},
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{tr.diffID}},
		History: []ocispec.History{
			{Created: &created, CreatedBy: "/bin/sh -c #(nop) ADD file:" + tr.diffID.Encoded() + " in / ", Comment: "berth bootstrap busybox: " + version},
			{Created: &created, CreatedBy: `/bin/sh -c #(nop)  CMD ["sh"]`, EmptyLayer: true},
		},
	}
	img, err := e.Store.PutImage(cfg, []ocispec.Descriptor{layerDesc}, store.ImageOptions{LayerSizes: []int64{tr.size}})
	if err != nil {
		return nil, fmt.Errorf("save busybox image: %w", err)
	}
	e.Emit(trace.Event{Type: trace.Image, Image: &trace.ImageInfo{ID: img.ID.String(), CreatedBy: cfg.History[0].CreatedBy, Cmd: cfg.Config.Cmd, Layers: 1}})
	if _, err := e.Store.Tag(img.ID, tagged.String()); err != nil {
		return nil, err
	}
	e.emitTag(img.ID, tagged.String())
	img.Refs = []string{tagged.String()}
	return &BootstrapResult{Image: img, Source: bin, Version: version, Applets: len(applets)}, ctxErr(ctx)
}

// treeLayer is what writing a tree found out about its layer.
type treeLayer struct {
	diffID digest.Digest
	size   int64 // uncompressed
	err    error
}

// putBusyboxLayer writes the busybox tree as a gzip'd layer blob straight
// into the store, the tar streamed through a pipe, and says so in the trace.
func (e *Engine) putBusyboxLayer(entries []treeEntry, created time.Time) (ocispec.Descriptor, treeLayer, error) {
	pr, pw := io.Pipe()
	done := make(chan treeLayer, 1)
	go func() {
		diffID, size, err := writeTree(pw, entries, created)
		pw.CloseWithError(err)
		done <- treeLayer{diffID, size, err}
	}()
	blobDigest, blobSize, putErr := e.Store.PutBlob(pr, "", -1)
	pr.CloseWithError(errors.New("ingest stopped"))
	tr := <-done
	if putErr != nil { // the cause: the writer's "ingest stopped" follows from it
		return ocispec.Descriptor{}, tr, fmt.Errorf("store busybox layer: %w", putErr)
	}
	if tr.err != nil {
		return ocispec.Descriptor{}, tr, fmt.Errorf("write busybox layer: %w", tr.err)
	}
	e.Emit(trace.Event{Type: trace.Layer, Layer: &trace.LayerInfo{
		DiffID: tr.diffID.String(), Digest: blobDigest.String(), Size: blobSize, UncompressedSize: tr.size, MediaType: ocispec.MediaTypeImageLayerGzip,
	}})
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: blobDigest, Size: blobSize}, tr, nil
}

// findBusybox picks the busybox to use.
func findBusybox(from string) (string, error) {
	if from != "" {
		if _, err := os.Stat(from); err != nil {
			return "", fmt.Errorf("--from %s: %w", from, err)
		}
		return from, nil
	}
	candidates := []string{}
	if p, err := exec.LookPath("busybox"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/bin/busybox", "/usr/bin/busybox")
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: this machine has no busybox; install a static one with `apt-get install busybox-static`, or give one with --from PATH", ErrNoBusybox)
}

// checkStaticELF makes sure bin is a statically linked ELF executable (it
// must run in an image that has nothing else) and returns its architecture
// in GOARCH terms.
func checkStaticELF(bin string) (string, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not an ELF executable (%v); give a static busybox with --from PATH", ErrNoBusybox, bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%w: %s is dynamically linked and would not run inside an image with no libraries: install a static one with `apt-get install busybox-static`, or give one with --from PATH", ErrNoBusybox, bin)
		}
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_386:
		return "386", nil
	case elf.EM_ARM:
		return "arm", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	case elf.EM_PPC64:
		return "ppc64le", nil
	case elf.EM_S390:
		return "s390x", nil
	}
	return runtime.GOARCH, nil
}

// busyboxApplets asks busybox for its applets ("bin/sh", "usr/bin/awk") and
// its version line.
func busyboxApplets(ctx context.Context, bin string) ([]string, string, error) {
	out, err := exec.CommandContext(ctx, bin, "--list-full").Output()
	if err != nil {
		return nil, "", fmt.Errorf("%s --list-full: %v: is it a busybox for this machine?", bin, err)
	}
	seen := map[string]bool{}
	var applets []string
	for _, line := range strings.Split(string(out), "\n") {
		p := strings.Trim(strings.TrimSpace(line), "/")
		if p == "" || p == "bin/busybox" || seen[p] || strings.Contains(p, "..") {
			continue
		}
		seen[p] = true
		applets = append(applets, p)
	}
	if len(applets) == 0 {
		return nil, "", fmt.Errorf("%s --list-full listed no applets", bin)
	}
	version := "BusyBox"
	help, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	if first, _, _ := strings.Cut(string(help), "\n"); strings.HasPrefix(first, "BusyBox") {
		version = strings.TrimSuffix(strings.TrimSpace(first), " multi-call binary.")
	}
	return applets, version, nil
}

// fixedTime is the one time stamp of the image: SOURCE_DATE_EPOCH when set,
// else the busybox binary's mtime.
func fixedTime(bin string) (time.Time, error) {
	if t, err := SourceDateEpoch(); err != nil || !t.IsZero() {
		return t, err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return time.Time{}, err
	}
	return st.ModTime().Truncate(time.Second).UTC(), nil
}

// SourceDateEpoch is SOURCE_DATE_EPOCH as a time, zero when unset. Build,
// commit and bootstrap use it for every time stamp they write (created
// times in configs and history, layer entries clamped to it), so that the
// same input gives the same image ID (reproducible-builds.org).
func SourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970: set it to a time like $(git log -1 --format=%%ct), or unset it", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// treeEntry is one file of a generated layer.
type treeEntry struct {
	path     string // relative, no leading slash
	typ      byte
	mode     int64
	data     []byte
	linkname string
}

const etcPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`

const etcGroup = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
`

const etcShadow = `root:*::0:::::
daemon:*::0:::::
bin:*::0:::::
sys:*::0:::::
sync:*::0:::::
mail:*::0:::::
www-data:*::0:::::
operator:*::0:::::
nobody:*::0:::::
`

// busyboxTree lists the files of the busybox image, parents before children.
func busyboxTree(binary []byte, applets []string) []treeEntry {
	dirs := map[string]int64{
		"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o555, "root": 0o700,
		"run": 0o755, "sbin": 0o755, "sys": 0o555, "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755,
		"usr/sbin": 0o755, "usr/local": 0o755, "usr/local/bin": 0o755, "var": 0o755, "var/spool": 0o755,
		"var/spool/mail": 0o755, "var/www": 0o755, "var/tmp": 0o1777,
	}
	files := []treeEntry{
		{path: "bin/busybox", typ: tar.TypeReg, mode: 0o755, data: binary},
		{path: "etc/passwd", typ: tar.TypeReg, mode: 0o644, data: []byte(etcPasswd)},
		{path: "etc/group", typ: tar.TypeReg, mode: 0o644, data: []byte(etcGroup)},
		{path: "etc/shadow", typ: tar.TypeReg, mode: 0o640, data: []byte(etcShadow)},
		{path: "etc/hostname", typ: tar.TypeReg, mode: 0o644, data: []byte("busybox\n")},
		{path: "etc/hosts", typ: tar.TypeReg, mode: 0o644, data: []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")},
		{path: "etc/resolv.conf", typ: tar.TypeReg, mode: 0o644, data: []byte{}},
		{path: "etc/nsswitch.conf", typ: tar.TypeReg, mode: 0o644, data: []byte("hosts: files dns\n")},
	}
	for _, a := range applets {
		for d := path.Dir(a); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
		// A hard link's header carries the file's mode, as GNU tar and Docker
		// write it: podman's unpacker applies it to the linked file, so mode
		// 0 here would leave /bin/busybox unexecutable after `podman load`.
		files = append(files, treeEntry{path: a, typ: tar.TypeLink, mode: 0o755, linkname: "bin/busybox"})
	}
	var out []treeEntry
	for d, mode := range dirs {
		out = append(out, treeEntry{path: d, typ: tar.TypeDir, mode: mode})
	}
	out = append(out, files...)
	// Directories first (byte order puts parents before children), then the
	// binary, then everything else: a hard link must follow its target.
	rank := func(e treeEntry) int {
		switch {
		case e.typ == tar.TypeDir:
			return 0
		case e.path == "bin/busybox":
			return 1
		}
		return 2
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i].path < out[j].path
	})
	return out
}

// writeTree writes entries as a gzip'd tar to w, all owned by root with the
// one time stamp, and returns the tar's digest (the diff ID) and size.
func writeTree(w io.Writer, entries []treeEntry, mtime time.Time) (digest.Digest, int64, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return "", 0, err
	}
	diff := digest.Canonical.Digester()
	counter := &countingWriter{w: io.MultiWriter(zw, diff.Hash())}
	tw := tar.NewWriter(counter)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.path, Typeflag: e.typ, Mode: e.mode, ModTime: mtime, Format: tar.FormatPAX,
			Linkname: e.linkname,
		}
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", 0, err
		}
		if e.typ == tar.TypeReg {
			if _, err := io.Copy(tw, bytes.NewReader(e.data)); err != nil {
				return "", 0, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, err
	}
	if err := zw.Close(); err != nil {
		return "", 0, err
	}
	return diff.Digest(), counter.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// BootstrapDebianOptions configure BootstrapDebian.
type BootstrapDebianOptions struct {
	// Ref names the image; default debian:SUITE.
	Ref string
	// Suite is the Debian release; default bookworm.
	Suite string
	// Mirror is the archive to install from; default the first Debian
	// mirror in the host's apt sources, else deb.debian.org.
	Mirror string
	// CacheDir keeps mmdebstrap's tarballs, one per suite, architecture and
	// snapshot, so a second bootstrap of the same snapshot (another root, a
	// lesson, a test) reads it instead of downloading again. "" caches nothing.
	CacheDir string
	// Progress receives mmdebstrap's own output (nil: discarded).
	Progress io.Writer
}

// ErrNoMmdebstrap is wrapped by BootstrapDebian's error when mmdebstrap is missing.
var ErrNoMmdebstrap = errors.New("mmdebstrap is not installed")

// defaultDebianMirror is used when the host's apt sources name none.
const defaultDebianMirror = "http://deb.debian.org/debian"

// DefaultBootstrapCache is where berth keeps mmdebstrap's tarballs:
// $XDG_CACHE_HOME/berth/mmdebstrap (~/.cache/berth/mmdebstrap), or "" when
// the user has no cache directory.
func DefaultBootstrapCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "berth", "mmdebstrap")
}

// BootstrapDebian makes a Debian base image with mmdebstrap (variant
// minbase) from a Debian mirror, then imports its root file system as one
// layer with Docker's debian defaults (CMD ["bash"]).
//
// It is reproducible: every time stamp is one instant, SOURCE_DATE_EPOCH
// when set, else the Date of the suite's Release file on the mirror (the
// snapshot's own time), passed to mmdebstrap as SOURCE_DATE_EPOCH and used
// as the image's creation time; the layer's entries are sorted. So the same
// snapshot gives the same image ID on any machine, whichever mirror served it.
func (e *Engine) BootstrapDebian(ctx context.Context, opts BootstrapDebianOptions) (*BootstrapResult, error) {
	suite := opts.Suite
	if suite == "" {
		suite = "bookworm"
	}
	name := opts.Ref
	if name == "" {
		name = "debian:" + suite
	}
	tagged, err := store.ParseTag(name)
	if err != nil {
		return nil, err
	}
	mirror := opts.Mirror
	if mirror == "" {
		mirror = hostDebianMirror()
	}
	if mirror == "" {
		mirror = defaultDebianMirror
	}
	created, err := debianEpoch(ctx, mirror, suite)
	if err != nil {
		return nil, err
	}
	tarball, cleanup, err := e.mmdebstrapTarball(ctx, opts, suite, mirror, created)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	f, err := os.Open(tarball)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	desc, res, err := e.layerFromRootfs(ctx, f, "mmdebstrap's tarball")
	if err != nil {
		return nil, err
	}
	cfg := debianConfig(suite, created, res.DiffID)
	img, err := e.Store.PutImage(cfg, []ocispec.Descriptor{desc}, store.ImageOptions{LayerSizes: []int64{res.UncompressedSize}})
	if err != nil {
		return nil, fmt.Errorf("save debian image: %w", err)
	}
	e.Emit(trace.Event{Type: trace.Image, Image: &trace.ImageInfo{ID: img.ID.String(), CreatedBy: cfg.History[0].CreatedBy, Cmd: cfg.Config.Cmd, Layers: 1}})
	if _, err := e.Store.Tag(img.ID, tagged.String()); err != nil {
		return nil, err
	}
	e.emitTag(img.ID, tagged.String())
	img.Refs = []string{tagged.String()}
	return &BootstrapResult{Image: img, Source: mirror, Version: suite + " of " + created.Format(time.RFC3339)}, ctxErr(ctx)
}

// debianConfig is the image config of a bootstrapped Debian: nothing in it
// depends on the machine or the mirror, only on the suite and the snapshot.
func debianConfig(suite string, created time.Time, diffID digest.Digest) ocispec.Image {
	return ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config:   ocispec.ImageConfig{Env: []string{baseImagePath}, Cmd: []string{"bash"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History: []ocispec.History{
			{Created: &created, CreatedBy: "mmdebstrap --variant=minbase " + suite, Comment: "berth bootstrap debian: snapshot of " + created.Format(time.RFC3339)},
			{Created: &created, CreatedBy: `/bin/sh -c #(nop)  CMD ["bash"]`, EmptyLayer: true},
		},
	}
}

// mmdebstrapTarball returns mmdebstrap's tarball for this suite and
// snapshot: the cached one, or a new one (then cached). cleanup removes a
// tarball that was not cached.
func (e *Engine) mmdebstrapTarball(ctx context.Context, opts BootstrapDebianOptions, suite, mirror string, created time.Time) (string, func(), error) {
	noop := func() {}
	cached := ""
	if opts.CacheDir != "" {
		cached = filepath.Join(opts.CacheDir, fmt.Sprintf("%s-%s-minbase-%d.tar", suite, runtime.GOARCH, created.Unix()))
		if st, err := os.Stat(cached); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "Using mmdebstrap's cached tarball %s\n", cached)
			}
			return cached, noop, nil
		}
	}
	tool, err := exec.LookPath("mmdebstrap")
	if err != nil {
		return "", noop, fmt.Errorf("%w: install it with `apt-get install mmdebstrap` (it needs a Debian mirror; with no network at all use `berth bootstrap busybox`)", ErrNoMmdebstrap)
	}
	tmp, err := e.Store.TempDir("debootstrap-")
	if err != nil {
		return "", noop, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	out := filepath.Join(tmp, "rootfs.tar")
	// apt leaves its partial/ folders owned by root instead of _apt when
	// its sandbox user cannot reach mmdebstrap's TMPDIR (a 0700 parent):
	// setting them as Debian ships them keeps the tarball the same
	// wherever mmdebstrap runs.
	fix := `chroot "$1" chown _apt:root /var/cache/apt/archives/partial /var/lib/apt/lists/partial`
	cmd := exec.CommandContext(ctx, tool, "--variant=minbase", "--format=tar", "--customize-hook="+fix, suite, out, mirror)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(created.Unix(), 10))
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	var tail bytes.Buffer
	cmd.Stdout, cmd.Stderr = progress, io.MultiWriter(progress, &tail)
	if err := cmd.Run(); err != nil {
		cleanup()
		msg := strings.TrimSpace(tail.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return "", noop, fmt.Errorf("mmdebstrap %s failed (%v): %s", suite, err, msg)
	}
	if cached == "" {
		return out, cleanup, nil
	}
	// Into the cache by rename from a sibling, so a reader never sees half a tarball.
	if err := os.MkdirAll(opts.CacheDir, 0o755); err == nil {
		part := cached + ".part"
		if err := copyFile(out, part); err == nil && os.Rename(part, cached) == nil {
			return cached, cleanup, nil
		}
		os.Remove(part)
	}
	return out, cleanup, nil // a cache that cannot be written only costs a download next time
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// debianEpoch is the bootstrap's one time stamp: SOURCE_DATE_EPOCH when
// set, else the Date of MIRROR/dists/SUITE/Release.
func debianEpoch(ctx context.Context, mirror, suite string) (time.Time, error) {
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	url := strings.TrimSuffix(mirror, "/") + "/dists/" + suite + "/Release"
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("debian mirror %s: %w", mirror, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the snapshot's date from %s: %w (is the Debian mirror reachable? set SOURCE_DATE_EPOCH to use a cached tarball offline)", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("read the snapshot's date from %s: %s (is suite %q on this mirror?)", url, resp.Status, suite)
	}
	return releaseDate(io.LimitReader(resp.Body, 1<<20), url)
}

// releaseDate reads the Date field of a Debian Release file.
func releaseDate(r io.Reader, what string) (time.Time, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", what, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Date:"); ok {
			t, err := time.Parse(time.RFC1123, strings.TrimSpace(v))
			if err != nil {
				t, err = time.Parse(time.RFC1123Z, strings.TrimSpace(v))
			}
			if err != nil {
				return time.Time{}, fmt.Errorf("%s: bad Date %q: %w", what, strings.TrimSpace(v), err)
			}
			return t.UTC(), nil
		}
		if strings.TrimSpace(line) == "" {
			break // the fields end at the first blank line
		}
	}
	return time.Time{}, fmt.Errorf("%s has no Date field: is it a Debian Release file?", what)
}

// hostDebianMirror finds a Debian mirror in the host's apt sources (the
// one this machine can reach), or "".
func hostDebianMirror() string {
	var files []string
	files = append(files, "/etc/apt/sources.list")
	if more, err := filepath.Glob("/etc/apt/sources.list.d/*"); err == nil {
		files = append(files, more...)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			var url string
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:":
				url = fields[1]
			case len(fields) >= 3 && fields[0] == "deb":
				url = fields[1]
				if strings.HasPrefix(url, "[") {
					for _, f := range fields[1:] {
						if strings.Contains(f, "://") {
							url = f
							break
						}
					}
				}
			}
			if strings.Contains(url, "://") && strings.HasSuffix(strings.TrimSuffix(url, "/"), "/debian") {
				return url
			}
		}
	}
	return ""
}
