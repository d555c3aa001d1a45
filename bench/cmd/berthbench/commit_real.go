//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The realistic commit (issue 18): the layer that `apt-get install -y
// redis-server` writes on the Debian base, committed with gzip and zstd
// next to `tar | pigz -1` and `tar | zstd -3 -T0` reading the same upper
// directory. The Debian base comes from `berth bootstrap debian`
// (mmdebstrap, its tarball cached by berth); the apt layer is cached as a
// tar under BENCH_CACHE, keyed by the base image's ID, so later runs do not
// need the mirror. Without a Debian base the layer is a stand-in copied from
// the host's own Debian tree (BENCH_REAL_TREE), and the table says so.
const (
	realContainer = "bench-real-src"
	debianImage   = "debian:bookworm"
	aptCommand    = "apt-get update && apt-get install -y redis-server"
)

// realLayer is the source container of commit-real and what it holds.
type realLayer struct {
	standIn bool   // the host-tree stand-in, not the apt layer
	what    string // for the case title
	upper   string // the container's upper directory
}

func realTreePaths() []string {
	if v := os.Getenv("BENCH_REAL_TREE"); v != "" {
		return strings.Fields(v)
	}
	return []string{"usr/share/doc", "usr/lib/x86_64-linux-gnu/perl", "usr/lib/x86_64-linux-gnu/perl-base"}
}

// benchCache is where slow-to-make inputs survive between runs (the bench
// directory itself is removed by every run).
func benchCache() string {
	if v := os.Getenv("BENCH_CACHE"); v != "" {
		return v
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "berth", "bench")
	}
	return "/var/tmp/berth-bench-cache"
}

// ensureRealLayer makes the stopped container commit-real commits: the
// apt layer when a Debian base can be made, else the stand-in.
func (e *Env) ensureRealLayer() (realLayer, error) {
	l, err := e.debianLayer()
	if err == nil {
		return l, nil
	}
	e.try(e.berth("rm", "-f", realContainer))
	e.note("commit-real: the layer is a stand-in, not the apt layer of the issue: %s", oneLine(err))
	return e.standInLayer()
}

// debianLayer bootstraps Debian and runs apt in a container (or restores
// the cached apt layer into one).
func (e *Env) debianLayer() (realLayer, error) {
	if err := e.do(e.berth("bootstrap", "debian", "--suite", "bookworm")); err != nil {
		return realLayer{}, fmt.Errorf("berth bootstrap debian: %w", err)
	}
	id, err := e.berth("image", "inspect", "-f", "{{.Id}}", debianImage).Output(e.ctx)
	if err != nil {
		return realLayer{}, err
	}
	cached := filepath.Join(benchCache(), "redis-layer-"+shortID(id)+".tar")
	how := "restored from " + cached + ", made earlier by `" + aptCommand + "` on this base"
	if _, err := os.Stat(cached); err == nil {
		err = e.restoreLayer(cached)
		if err == nil {
			err = e.checkRestoredLayer(cached)
		}
		if err != nil {
			e.note("commit-real: the cached apt layer %s could not be restored (%s); running apt again", cached, oneLine(err))
			e.try(e.berth("rm", "-f", realContainer))
			os.Remove(cached)
			os.Remove(cached + ".size")
		}
	}
	if _, err := os.Stat(cached); err != nil {
		start := time.Now()
		if err := e.runApt(); err != nil {
			return realLayer{}, err
		}
		how = fmt.Sprintf("made by `%s` in %s", aptCommand, sinceMS(start))
	}
	upper, err := e.upperDir(realContainer)
	if err != nil {
		return realLayer{}, err
	}
	if _, err := os.Stat(cached); err != nil {
		e.cacheLayer(upper, cached)
	}
	files, bytes := treeSize(upper)
	e.note("commit-real: the layer of `%s` on %s (%s), %d files and directories, %.1f MiB; %s",
		aptCommand, debianImage, shortID(id), files, float64(bytes)/(1<<20), how)
	return realLayer{upper: upper,
		what: fmt.Sprintf("the layer `%s` writes on Debian bookworm (%d files, %.0f MiB)", aptCommand, files, float64(bytes)/(1<<20))}, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(strings.TrimSpace(id), "sha256:")
	return id[:min(12, len(id))]
}

// runApt runs apt in a stopped container on the default bridge network,
// then on the host's when the bridge cannot reach the mirror.
func (e *Env) runApt() error {
	var errs []error
	for _, network := range []string{"bridge", "host"} {
		e.logf("   commit-real: %s on %s (network %s)", aptCommand, debianImage, network)
		err := e.do(e.berth("run", "--name", realContainer, "--network", network, "-e", "DEBIAN_FRONTEND=noninteractive",
			debianImage, "sh", "-c", aptCommand))
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("network %s: %w", network, err))
		e.try(e.berth("rm", "-f", realContainer))
	}
	return errors.Join(errs...)
}

// restoreLayer writes a cached upper directory back through a container:
// tar extracting inside it writes the same files apt wrote.
func (e *Env) restoreLayer(tarFile string) error {
	run := e.berth("run", "-i", "--network", "host", "--name", realContainer, debianImage,
		"tar", "--numeric-owner", "-xpf", "-", "-C", "/")
	run.Stdin = tarFile
	return e.do(run)
}

// checkRestoredLayer checks the restored container against the cache's size.
func (e *Env) checkRestoredLayer(cached string) error {
	upper, err := e.upperDir(realContainer)
	if err != nil {
		return err
	}
	return checkRestored(upper, cached)
}

// cacheLayer keeps an upper directory as a tar, and its size beside it,
// unless the layer deletes or hides files of the base (overlay whiteouts,
// opaque directories over a base directory): tar inside a container cannot
// write those back, so apt runs every time.
func (e *Env) cacheLayer(upper, cached string) {
	lowers, err := e.lowerDirs(realContainer)
	if err != nil {
		e.logf("   commit-real: cache: %v", err)
		return
	}
	if mark := overlayMark(upper, lowers); mark != "" {
		e.logf("   commit-real: the apt layer deletes or hides a file of the base (%s): not cached", mark)
		return
	}
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		e.logf("   commit-real: cache: %v", err)
		return
	}
	tmp := cached + ".tmp"
	err = e.do(Cmd{Argv: []string{"tar", "--numeric-owner", "-C", upper, "-cf", tmp, "."}})
	if err == nil {
		files, bytes := treeSize(upper)
		err = os.WriteFile(cached+".size", fmt.Appendf(nil, "%d %d\n", files, bytes), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, cached)
	}
	if err != nil {
		os.Remove(tmp)
		e.logf("   commit-real: cache: %v", err)
	}
}

// checkRestored compares a restored upper directory with the size the
// cache recorded when it was made.
func checkRestored(upper, cached string) error {
	want, err := os.ReadFile(cached + ".size")
	if err != nil {
		return err
	}
	files, bytes := treeSize(upper)
	if got := fmt.Sprintf("%d %d\n", files, bytes); got != string(want) {
		return fmt.Errorf("restored layer has %q files and bytes, the cache recorded %q", got, want)
	}
	return nil
}

// lowerDirs asks berth for a container's lower directories.
func (e *Env) lowerDirs(name string) ([]string, error) {
	out, err := e.berth("inspect", "-f", "{{.GraphDriver.Data.LowerDir}}", name).Output(e.ctx)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(out), ":"), nil
}

// overlayMark names the first overlayfs whiteout (a 0/0 character device)
// in upper, or opaque directory that hides a directory of one of lowers;
// "" when there is none. (dpkg's new directories are opaque too, but hide
// nothing.)
func overlayMark(upper string, lowers []string) string {
	mark := ""
	_ = filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil || mark != "" {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		if d.Type()&fs.ModeCharDevice != 0 {
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil && st.Rdev == 0 {
				mark = "whiteout " + rel
			}
		}
		if d.IsDir() && isOpaque(p) {
			for _, l := range lowers {
				if _, err := os.Lstat(filepath.Join(l, rel)); err == nil {
					mark = "opaque directory " + rel
				}
			}
		}
		return nil
	})
	return mark
}

func isOpaque(dir string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(dir, "trusted.overlay.opaque", buf)
	return err == nil && n > 0 && buf[0] == 'y'
}

// treeSize counts the entries under dir and the bytes of its files.
func treeSize(dir string) (files int, bytes int64) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		files++
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			bytes += info.Size()
		}
		return nil
	})
	return files, bytes
}

// upperDir asks berth where a container's writable layer is.
func (e *Env) upperDir(name string) (string, error) {
	out, err := e.berth("inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", name).Output(e.ctx)
	dir := strings.TrimSpace(out)
	if err == nil && dir == "" {
		err = fmt.Errorf("berth inspect %s: no upper directory", name)
	}
	return dir, err
}

// standInLayer makes a stopped busybox container that wrote a copy of the
// host's Debian files.
func (e *Env) standInLayer() (realLayer, error) {
	var present []string
	for _, p := range realTreePaths() {
		if _, err := os.Stat("/" + p); err == nil {
			present = append(present, p)
		}
	}
	if len(present) == 0 {
		return realLayer{}, fmt.Errorf("none of %v exists on this host: set BENCH_REAL_TREE", realTreePaths())
	}
	tarFile := e.path("realtree.tar")
	if err := e.do(Cmd{Argv: append([]string{"tar", "-C", "/", "-cf", tarFile}, present...)}); err != nil {
		return realLayer{}, err
	}
	run := e.berth("run", "-i", "--network", "host", "--name", realContainer, baseBerth, "tar", "-x", "-C", "/", "-f", "-")
	run.Stdin = tarFile
	if err := e.do(run); err != nil {
		return realLayer{}, fmt.Errorf("berth container that writes the host tree: %w", err)
	}
	os.Remove(tarFile)
	upper, err := e.upperDir(realContainer)
	if err != nil {
		return realLayer{}, err
	}
	files, bytes := treeSize(upper)
	return realLayer{standIn: true, upper: upper,
		what: fmt.Sprintf("a stand-in for the Debian layer: the host's %s (%d files, %.0f MiB)", strings.Join(present, ", "), files, float64(bytes)/(1<<20))}, nil
}

func (e *Env) realPipeline(upper, compress, ext, note string) *Subject {
	out := e.out("real." + ext)
	return &Subject{Tool: "tar | " + compress,
		Cmd:     e.sh(fmt.Sprintf("tar -C %s -cf - . | %s > %s", shellQuote(upper), compress, out)),
		Cleanup: func() error { return os.RemoveAll(out) },
		Skip:    e.notInstalled(strings.Fields(compress)[0]),
		Note:    note,
	}
}

// commitRealCase makes the source container now (the title says which
// layer it is), then commits it in gzip and zstd next to the compressors'
// floors on its upper directory.
func (e *Env) commitRealCase() *Case {
	c := &Case{ID: "commit-real", Warmup: 1, Runs: 3}
	l, err := e.ensureRealLayer()
	if err != nil {
		c.Title = "commit a Debian layer"
		c.Setup = func() error { return err }
		c.Subjects = []*Subject{{Tool: "berth --compression gzip"}, {Tool: "berth --compression zstd"}}
		return c
	}
	const img = "bench-real"
	commit := func(compression string) *Subject {
		return &Subject{Tool: "berth --compression " + compression,
			Cmd:     e.berth("commit", "--compression", compression, realContainer, img),
			Cleanup: func() error { return e.do(e.berth("rmi", img)) },
			Note:    "The layer diffed, compressed and stored (digest, fsync) in one pass."}
	}
	c.Title = "commit " + l.what + "; page cache warm"
	c.Subjects = []*Subject{
		commit("gzip"), commit("zstd"),
		e.realPipeline(l.upper, "pigz -1", "tar.gz", "the floor for a gzip layer: parallel gzip -1 on all cores, on the container's upper directory"),
		e.realPipeline(l.upper, "zstd -3 -T0 -q", "tar.zst", "the floor for a zstd layer: zstd -3 on all cores, on the container's upper directory"),
		e.realPipeline(l.upper, "zstd -1 -T0 -q", "l1.tar.zst", "zstd -1 on all cores: the level Berth's --compression zstd uses by default (docs/layers.md), for a like-for-like comparison"),
	}
	return c
}
