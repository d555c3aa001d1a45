//go:build linux

package layertest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Canary is a directory that hostile cases aim at: base/canary, holding
// "file" (0644, "canary") and "sub/deep" (0600, "deep"). The unpack root
// goes beside it, as base/root, so that "../canary" from the root names it.
type Canary struct {
	// Dir is the canary directory; pass it to Case.Tar.
	Dir string
	// Base is the directory holding the canary (and, usually, the root).
	Base   string
	before map[string]canaryNode
	beside []string
}

// canaryNode is what Verify compares for one path. ctime catches a change
// that was undone (a chmod and back, a link made and removed).
type canaryNode struct {
	Type, Perm, Uid, Gid uint32
	Nlink                uint64
	Mtime, Ctime         unix.Timespec
	Size                 int64
	Content, Link        string
	Xattrs               string
}

// NewCanary makes the canary directory in base and records it, and what
// base holds, for Verify.
func NewCanary(t testing.TB, base string) *Canary {
	t.Helper()
	c := &Canary{Dir: filepath.Join(base, "canary"), Base: base}
	for _, f := range []struct {
		rel, body string
		mode      os.FileMode
	}{{"file", "canary", 0o644}, {"sub/deep", "deep", 0o600}} {
		p := filepath.Join(c.Dir, f.rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if c.before, err = snapshot(c.Dir); err != nil {
		t.Fatalf("layertest: %v", err)
	}
	if c.beside, err = c.Beside(); err != nil {
		t.Fatalf("layertest: %v", err)
	}
	return c
}

// Beside lists the names in Base, sorted.
func (c *Canary) Beside() ([]string, error) {
	entries, err := os.ReadDir(c.Base)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// Check reports every change to the canary since NewCanary: an entry added,
// removed, or with other content, type, mode, owner, times, link count or
// xattrs; and any name in Base that was not there at NewCanary and is not
// one of allowed.
func (c *Canary) Check(allowed ...string) error {
	var problems []string
	after, err := snapshot(c.Dir)
	if err != nil {
		return err
	}
	for _, p := range slices.Sorted(mapKeys(c.before)) {
		a, ok := after[p]
		switch {
		case !ok:
			problems = append(problems, p+": missing")
		case a != c.before[p]:
			problems = append(problems, fmt.Sprintf("%s changed:\n  was %+v\n  now %+v", p, c.before[p], a))
		}
	}
	for _, p := range slices.Sorted(mapKeys(after)) {
		if _, ok := c.before[p]; !ok {
			problems = append(problems, p+": appeared")
		}
	}
	names, err := c.Beside()
	if err != nil {
		return err
	}
	for _, n := range names {
		if !slices.Contains(c.beside, n) && !slices.Contains(allowed, n) {
			problems = append(problems, fmt.Sprintf("%s appeared beside the canary", filepath.Join(c.Base, n)))
		}
	}
	if len(problems) > 0 {
		return errors.New("canary " + c.Dir + " disturbed: " + strings.Join(problems, "; "))
	}
	return nil
}

// Verify fails t if Check finds anything.
func (c *Canary) Verify(t testing.TB, allowed ...string) {
	t.Helper()
	if err := c.Check(allowed...); err != nil {
		t.Error(err)
	}
}

// snapshot records dir and every entry under it ("." for dir itself).
func snapshot(dir string) (map[string]canaryNode, error) {
	out := map[string]canaryNode{}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		n := canaryNode{
			Type: st.Mode & unix.S_IFMT, Perm: st.Mode & 0o7777, Uid: st.Uid, Gid: st.Gid, Nlink: uint64(st.Nlink),
			Mtime: st.Mtim, Ctime: st.Ctim, Size: st.Size, Xattrs: xattrs(p),
		}
		switch n.Type {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			n.Content = hex.EncodeToString(sum[:])
		case unix.S_IFLNK:
			if n.Link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		out[rel] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot canary %s: %w", dir, err)
	}
	return out, nil
}

// Xattrs lists p's extended attributes as sorted name=hex pairs, leaving
// out security.selinux, which the system manages. A value that cannot be
// read is listed as name=<error> and the first such error is returned too.
func Xattrs(p string) (string, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return "", nil
	}
	var pairs []string
	var first error
	for name := range strings.SplitSeq(string(buf[:n]), "\x00") {
		if name == "" || name == "security.selinux" {
			continue
		}
		val := make([]byte, 64<<10)
		vn, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("lgetxattr %s %s: %w", p, name, err)
			}
			pairs = append(pairs, name+"=<"+err.Error()+">")
			continue
		}
		pairs = append(pairs, name+"="+hex.EncodeToString(val[:vn]))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ","), first
}

// xattrs is Xattrs for comparisons, where an unreadable value is itself a
// difference to report.
func xattrs(p string) string {
	x, _ := Xattrs(p)
	return x
}

func mapKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
