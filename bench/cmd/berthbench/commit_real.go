//go:build linux

package main

import (
	"fmt"
	"os"
	"strings"
)

// The realistic commit: a layer like a Debian package install (shared
// libraries, Perl modules, documentation: compressible binaries and many
// small files). Without a Debian base in the store the layer's content is a
// stand-in copied from the host's own Debian tree; BENCH_REAL_TREE (paths
// under /, space separated) chooses it.
const realContainer = "bench-real-src"

func realTreePaths() []string {
	if v := os.Getenv("BENCH_REAL_TREE"); v != "" {
		return strings.Fields(v)
	}
	return []string{"usr/share/doc", "usr/lib/x86_64-linux-gnu/perl", "usr/lib/x86_64-linux-gnu/perl-base"}
}

// ensureRealTree copies the stand-in tree under the bench directory once,
// and makes a stopped container that wrote the same files.
func (e *Env) ensureRealTree() (string, error) {
	tree := e.path("realtree")
	if _, err := os.Stat(e.path("realtree-made")); err == nil {
		return tree, nil
	}
	var present []string
	for _, p := range realTreePaths() {
		if _, err := os.Stat("/" + p); err == nil {
			present = append(present, p)
		}
	}
	if len(present) == 0 {
		return "", fmt.Errorf("none of %v exists on this host: set BENCH_REAL_TREE", realTreePaths())
	}
	tarFile := e.path("realtree.tar")
	script := fmt.Sprintf("mkdir -p %s && tar -C / -cf %s %s && tar -C %s -xf %s",
		shellQuote(tree), shellQuote(tarFile), strings.Join(present, " "), shellQuote(tree), shellQuote(tarFile))
	if err := e.do(e.sh(script)); err != nil {
		return "", err
	}
	run := e.berth("run", "-i", "--network", "host", "--name", realContainer, baseBerth, "tar", "-x", "-C", "/", "-f", "-")
	run.Stdin = tarFile
	if err := e.do(run); err != nil {
		return "", fmt.Errorf("berth container that writes the host tree: %w", err)
	}
	e.note("commit-real: the layer is a stand-in, the host's %s (no Debian base image in the bench store)", strings.Join(present, ", "))
	return tree, os.WriteFile(e.path("realtree-made"), nil, 0o644)
}

func (e *Env) realPipeline(tree, compress, ext, note string) *Subject {
	out := e.out("real." + ext)
	return &Subject{Tool: "tar | " + compress,
		Cmd:     e.sh(fmt.Sprintf("tar -C %s -cf - . | %s > %s", shellQuote(tree), compress, out)),
		Cleanup: func() error { return os.RemoveAll(out) },
		Skip:    e.notInstalled(strings.Fields(compress)[0]),
		Note:    note,
	}
}

// commitRealCase: berth commit in gzip and zstd next to the compressors'
// floors on the same files.
func (e *Env) commitRealCase() *Case {
	tree := e.path("realtree")
	const img = "bench-real"
	commit := func(compression string) *Subject {
		return &Subject{Tool: "berth --compression " + compression,
			Cmd:     e.berth("commit", "--compression", compression, realContainer, img),
			Cleanup: func() error { return e.do(e.berth("rmi", img)) },
			Note:    "The layer diffed, compressed and stored (digest, fsync) in one pass."}
	}
	return &Case{
		ID: "commit-real", Title: "commit a Debian-like layer: the host's /usr/share/doc and Perl libraries (compressible binaries, many small files; page cache warm)",
		Warmup: 1, Runs: 3,
		Setup: func() error { _, err := e.ensureRealTree(); return err },
		Subjects: []*Subject{
			commit("gzip"), commit("zstd"),
			e.realPipeline(tree, "pigz -1", "tar.gz", "the floor for a gzip layer: parallel gzip -1 on all cores"),
			e.realPipeline(tree, "zstd -3 -T0 -q", "tar.zst", "the floor for a zstd layer: zstd -3 on all cores"),
		},
	}
}
