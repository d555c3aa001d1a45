//go:build linux

package layer

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// debianLikeTree writes a stand-in for a package manager's layer (the
// redis-server install on Debian: apt lists, apt's binary caches, shared
// libraries, docs and Perl modules), generated, so no root or mirror is
// needed: 83 MiB of tar in 2,300 files and 300 symlinks, which zstd -3
// shrinks to a third. It returns the root and the bytes of file content.
func debianLikeTree(b *testing.B) (string, int64) {
	b.Helper()
	root := filepath.Join(b.TempDir(), "tree")
	g := &treeGen{b: b, root: root, r: rand.New(rand.NewSource(18))}
	g.file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", g.packages(20<<20))
	g.file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en", g.text(10<<20))
	g.file("var/cache/apt/pkgcache.bin", g.binary(10<<20))
	g.file("var/cache/apt/srcpkgcache.bin", g.binary(10<<20))
	for i := range 24 {
		g.file(fmt.Sprintf("usr/lib/x86_64-linux-gnu/lib%s.so.%d", g.word(), i), g.binary(64<<10+g.r.Intn(1<<20)))
	}
	for i := range 300 {
		doc := fmt.Sprintf("usr/share/doc/%s-%d/", g.word(), i)
		g.file(doc+"copyright", g.text(500+g.r.Intn(12<<10)))
		g.file(doc+"changelog.Debian.gz", g.binary(200+g.r.Intn(8<<10)))
		must(b, os.Symlink("copyright", filepath.Join(root, doc+"README")))
	}
	for i := range 1700 {
		g.file(fmt.Sprintf("usr/share/perl5/%s/%s%d.pm", g.word(), g.word(), i), g.text(300+g.r.Intn(16<<10)))
	}
	// Freshly written pages still under writeback slow the first reads by
	// seconds; a commit reads a container's settled files.
	f, err := os.Open(root)
	must(b, err)
	must(b, unix.Syncfs(int(f.Fd())))
	must(b, f.Close())
	return root, g.total
}

type treeGen struct {
	b     *testing.B
	root  string
	r     *rand.Rand
	total int64
}

var treeWords = strings.Fields(`the package redis server config usr lib share doc perl
	sub my return if else foreach use strict warnings Description Version Depends
	Architecture amd64 all Maintainer Debian Section Priority optional libc6 libssl3
	Installed-Size Filename pool main Size SHA256 license GPL copyright 2023 2024`)

func (g *treeGen) word() string { return treeWords[g.r.Intn(len(treeWords))] }

func (g *treeGen) file(rel string, body []byte) {
	p := filepath.Join(g.root, rel)
	must(g.b, os.MkdirAll(filepath.Dir(p), 0o755))
	must(g.b, os.WriteFile(p, body, 0o644))
	g.total += int64(len(body))
}

// text is word salad in lines, about as compressible as docs and code.
func (g *treeGen) text(n int) []byte {
	var buf bytes.Buffer
	buf.Grow(n + 64)
	for buf.Len() < n {
		for range 4 + g.r.Intn(10) {
			buf.WriteString(g.word())
			buf.WriteByte(' ')
		}
		if g.r.Intn(8) == 0 {
			fmt.Fprintf(&buf, "%x", g.r.Uint64()) // hashes, versions
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes()[:n]
}

// packages is apt's Packages index: records of "Key: value" lines.
func (g *treeGen) packages(n int) []byte {
	var buf bytes.Buffer
	buf.Grow(n + 512)
	for i := 0; buf.Len() < n; i++ {
		fmt.Fprintf(&buf, "Package: %s-%d\nVersion: %d.%d-%d\nArchitecture: amd64\nDepends: %s, %s\nSize: %d\nSHA256: %x%x\nDescription: %s %s %s\n\n",
			g.word(), i, g.r.Intn(10), g.r.Intn(30), g.r.Intn(5), g.word(), g.word(), g.r.Intn(1<<20), g.r.Uint64(), g.r.Uint64(), g.word(), g.word(), g.word())
	}
	return buf.Bytes()[:n]
}

// binary mimics machine code and binary caches: a small vocabulary of
// byte strings with random operands, compressing about 2.5 to 1.
func (g *treeGen) binary(n int) []byte {
	ops := make([][]byte, 64)
	for i := range ops {
		ops[i] = make([]byte, 2+g.r.Intn(6))
		g.r.Read(ops[i])
	}
	buf := make([]byte, 0, n+16)
	for len(buf) < n {
		buf = append(buf, ops[g.r.Intn(len(ops))]...)
		if g.r.Intn(3) == 0 {
			buf = append(buf, byte(g.r.Intn(256)), byte(g.r.Intn(16)))
		}
	}
	return buf[:n]
}

// BenchmarkDiffDebian commits the Debian-like tree with each compression;
// docs/layers.md compares it with `tar | zstd -3 -T0` and `tar | pigz -1`.
// BERTH_BENCH_TREE names a real tree to use instead (a container's upper
// dir: docs/performance.md).
func BenchmarkDiffDebian(b *testing.B) {
	for _, c := range []Compression{Gzip, Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			root := os.Getenv("BERTH_BENCH_TREE")
			if root == "" {
				root, _ = debianLikeTree(b)
			}
			benchDiffDir(b, root, c)
		})
	}
}
