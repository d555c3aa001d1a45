//go:build linux

package layertest

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

// Want is what unpacking a case must do.
type Want int

const (
	// WantOK: the case is a legitimate control; it unpacks and Check holds.
	WantOK Want = iota
	// WantUnsafe: the unpacker refuses an entry as unsafe (layer.ErrUnsafe).
	WantUnsafe
	// WantError: unpacking fails, with whatever error.
	WantError
	// WantEither: unpacking may fail or not; only the canary matters.
	WantEither
)

func (w Want) String() string {
	switch w {
	case WantOK:
		return "ok"
	case WantUnsafe:
		return "unsafe"
	case WantError:
		return "error"
	case WantEither:
		return "either"
	}
	return fmt.Sprintf("Want(%d)", int(w))
}

// Case is one tarball of the hostile table.
type Case struct {
	Name string
	// Tar builds the uncompressed tar. canary is the absolute path of the
	// canary directory the case aims at; relative cases aim at "../canary",
	// the canary beside the root.
	Tar  func(canary string) []byte
	Want Want
	// Check, for WantOK cases, inspects the unpacked root. It may be nil.
	Check func(root string) error
}

// Legit reports whether the case is a legitimate control that must unpack.
func (c Case) Legit() bool { return c.Want == WantOK }

// HostileCases returns the table, freshly built, group by group.
func HostileCases() []Case {
	return slices.Concat(pathCases(), symlinkCases(), hardLinkCases(), rootCases(),
		whiteoutCases(), replaceCases(), limitCases(), legitCases())
}

// tb is a case's Tar for entries that do not depend on the canary's path.
func tb(entries ...Entry) func(string) []byte {
	return func(string) []byte { return Tar(entries...) }
}

// pathCases: names that climb out with .. or are absolute.
func pathCases() []Case {
	return []Case{
		{Name: "dotdot", Tar: tb(File("../canary/file", "pwned")), Want: WantUnsafe},
		{Name: "dotdot nested", Tar: tb(Dir("a"), File("a/../../canary/file", "pwned")), Want: WantUnsafe},
		{Name: "dotdot after slash", Tar: tb(File("/../canary/file", "pwned")), Want: WantUnsafe},
		{Name: "dotdot directory", Tar: tb(Dir("../canary/new")), Want: WantUnsafe},
		{Name: "absolute name stays inside", Tar: func(canary string) []byte {
			return Tar(File(canary+"/file", "inside"))
		}, Want: WantOK, Check: func(root string) error {
			entries, err := os.ReadDir(root)
			if err != nil || len(entries) != 1 {
				return fmt.Errorf("root has %d entries (%v), want the one absolute path", len(entries), err)
			}
			return nil
		}},
	}
}

// symlinkCases: symlinks that point outside, then a write through them.
func symlinkCases() []Case {
	return []Case{
		{Name: "symlink to outside dir then write through it", Tar: func(canary string) []byte {
			return Tar(Symlink("evil", canary), File("evil/file", "pwned"))
		}, Want: WantEither},
		{Name: "relative symlink to outside dir then write through it", Tar: tb(
			Symlink("evil", "../canary"), File("evil/file", "pwned"), Dir("evil/newdir")), Want: WantEither},
		{Name: "symlink to outside file then overwrite", Tar: func(canary string) []byte {
			return Tar(Symlink("f", canary+"/file"), File("f", "replaced"))
		}, Want: WantOK, Check: func(root string) error {
			return wantContent(root, "f", "replaced")
		}},
		{Name: "symlink to outside file then hard link it", Tar: func(canary string) []byte {
			return Tar(Symlink("f", canary+"/file"), Hardlink("h", "f"))
		}, Want: WantOK, Check: func(root string) error {
			fi, err := os.Lstat(filepath.Join(root, "h"))
			if err != nil || fi.Mode()&os.ModeSymlink == 0 {
				return fmt.Errorf("h: %v, %v; want the symlink itself linked", fi, err)
			}
			return nil
		}},
		{Name: "two-hop symlink chain", Tar: tb(
			Dir("sub"), Symlink("sub/up", ".."), Symlink("up2", "sub/up/.."),
			File("up2/canary/file", "pwned")), Want: WantOK, Check: func(root string) error {
			return wantContent(root, "canary/file", "pwned")
		}},
		{Name: "three-hop absolute chain", Tar: func(canary string) []byte {
			return Tar(Symlink("a", "/b"), Symlink("b", "/c"), Symlink("c", canary+"/.."),
				File("a/canary/file", "pwned"))
		}, Want: WantEither},
		{Name: "symlink in subdir climbing three levels", Tar: tb(
			Dir("d"), Symlink("d/x", "../../.."), File("d/x/canary/file", "pwned")),
			Want: WantOK, Check: func(root string) error {
				return wantContent(root, "canary/file", "pwned")
			}},
	}
}

// hardLinkCases: hard links to outside files.
func hardLinkCases() []Case {
	return []Case{
		{Name: "hard link climbing out", Tar: tb(Hardlink("h", "../canary/file")), Want: WantUnsafe},
		{Name: "hard link to absolute outside path", Tar: func(canary string) []byte {
			return Tar(Hardlink("h", canary+"/file"))
		}, Want: WantError},
		{Name: "hard link through symlinked dir", Tar: func(canary string) []byte {
			return Tar(Symlink("s", canary), Hardlink("h", "s/file"))
		}, Want: WantError},
		{Name: "hard link through relative symlinked dir", Tar: tb(
			Symlink("s", "../canary"), Hardlink("h", "s/file")), Want: WantError},
	}
}

// rootCases: entries that replace the root itself.
func rootCases() []Case {
	return []Case{
		{Name: "root replaced by symlink", Tar: func(canary string) []byte {
			return Tar(Symlink(".", canary), File("file", "pwned"))
		}, Want: WantUnsafe},
		{Name: "root replaced by symlink dot slash", Tar: func(canary string) []byte {
			return Tar(Symlink("./", canary), File("./file", "pwned"))
		}, Want: WantUnsafe},
		{Name: "root replaced by file", Tar: tb(File(".", "pwned")), Want: WantUnsafe},
		{Name: "root replaced by fifo", Tar: tb(Entry{Name: "/.", Type: tar.TypeFifo}), Want: WantUnsafe},
		{Name: "root replaced via dotdot inside", Tar: tb(Dir("a"), Symlink("a/..", "/tmp")), Want: WantUnsafe},
		{Name: "root dir entry sets mode", Tar: tb(Entry{Name: "./", Type: tar.TypeDir, Mode: 0o750}, File("a", "x")),
			Want: WantOK, Check: func(root string) error {
				fi, err := os.Lstat(root)
				if err != nil || fi.Mode() != os.ModeDir|0o750 {
					return fmt.Errorf("root mode %v, %v; want drwxr-x---", modeOf(fi), err)
				}
				return nil
			}},
	}
}

// whiteoutCases: whiteouts naming . or .., or reached through a symlink.
func whiteoutCases() []Case {
	return []Case{
		{Name: "whiteout of dotdot", Tar: tb(Dir("sub"), Whiteout("sub/.wh..."), File("sub/x", "1")), Want: WantUnsafe},
		{Name: "whiteout of dot", Tar: tb(Dir("sub"), Whiteout("sub/.wh..")), Want: WantUnsafe},
		{Name: "whiteout of dot at root", Tar: tb(Whiteout(".wh..")), Want: WantUnsafe},
		{Name: "whiteout of dotdot at root", Tar: tb(Whiteout(".wh...")), Want: WantUnsafe},
		{Name: "empty whiteout", Tar: tb(Whiteout("sub/.wh.")), Want: WantUnsafe},
		{Name: "whiteout through symlink", Tar: func(canary string) []byte {
			return Tar(Symlink("s", canary), Whiteout("s/.wh.file"), Whiteout("s/.wh..wh..opq"))
		}, Want: WantEither},
		{Name: "whiteout through relative symlink", Tar: tb(
			Symlink("s", "../canary"), Whiteout("s/.wh.file"), Whiteout("s/.wh..wh..opq")), Want: WantEither},
	}
}

// replaceCases: devices, and entries that replace earlier ones.
func replaceCases() []Case {
	return []Case{
		{Name: "block device", Tar: tb(Dir("dev"), BlockDev("dev/sda", 8, 0)), Want: WantOK, Check: func(root string) error {
			var st unix.Stat_t
			err := unix.Lstat(filepath.Join(root, "dev/sda"), &st)
			if !testenv.IsRoot() {
				if err == nil {
					return fmt.Errorf("device node made without root")
				}
				return nil
			}
			if err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || unix.Major(st.Rdev) != 8 {
				return fmt.Errorf("dev/sda: %v mode %o, want block device 8:0", err, st.Mode)
			}
			return nil
		}},
		{Name: "duplicates last wins", Tar: func(canary string) []byte {
			return Tar(File("a", "1"), Dir("a"), File("a/x", "inner"), Symlink("a", canary), File("a", "last"))
		}, Want: WantOK, Check: func(root string) error {
			return wantContent(root, "a", "last")
		}},
		{Name: "directory replaced by symlink then written through", Tar: tb(
			Dir("d"), File("d/x", "1"), Symlink("d", "/"), File("d/y", "2")), Want: WantOK,
			Check: func(root string) error {
				if err := wantSymlink(root, "d", "/"); err != nil {
					return err
				}
				return wantContent(root, "y", "2")
			}},
		{Name: "hard link replaced by file keeps target", Tar: tb(
			File("target", "orig"), Hardlink("h", "target"), File("h", "new")), Want: WantOK,
			Check: func(root string) error {
				if err := wantContent(root, "target", "orig"); err != nil {
					return fmt.Errorf("the write went through the hard link: %w", err)
				}
				return nil
			}},
	}
}

// limitCases: absurd sizes, loops and impossible parents.
func limitCases() []Case {
	return []Case{
		{Name: "absurd size", Tar: func(string) []byte { return truncatedHuge() }, Want: WantError},
		{Name: "absurd sparse size", Tar: func(string) []byte { return hugeSparse() }, Want: WantUnsafe},
		{Name: "symlink loop", Tar: tb(Symlink("loop", "loop"), File("loop/x", "1")), Want: WantError},
		{Name: "parent is a file", Tar: tb(File("f", "1"), File("f/x", "2")), Want: WantError},
		{Name: "overlay xattrs are not taken from a layer", Tar: tb(Entry{Name: "d", Type: tar.TypeDir, PAX: map[string]string{
			"SCHILY.xattr.trusted.overlay.opaque":   "y",
			"SCHILY.xattr.trusted.overlay.redirect": "/etc",
		}}), Want: WantOK, Check: func(root string) error {
			if x := xattrs(filepath.Join(root, "d")); strings.Contains(x, "overlay") {
				return fmt.Errorf("d has %s", x)
			}
			return nil
		}},
	}
}

// legitCases: legitimate layers that must unpack as written.
func legitCases() []Case {
	return []Case{
		{Name: "dynamic loader symlink and absolute hard link", Tar: tb(
			Dir("lib"), File("lib/ld-linux-x86-64.so.2", "ELF"),
			Dir("usr"), Dir("usr/lib"), Symlink("usr/lib/ld.so", "../../lib/ld-linux-x86-64.so.2"),
			Symlink("usr/lib/abs.so", "/lib/ld-linux-x86-64.so.2"),
			Dir("usr/bin"), File("usr/bin/tool", "#!"), Hardlink("usr/bin/tool2", "/usr/bin/tool")),
			Want: WantOK, Check: func(root string) error {
				if err := wantSymlink(root, "usr/lib/ld.so", "../../lib/ld-linux-x86-64.so.2"); err != nil {
					return err
				}
				if err := wantContent(root, "usr/lib/ld.so", "ELF"); err != nil {
					return err
				}
				if err := wantSymlink(root, "usr/lib/abs.so", "/lib/ld-linux-x86-64.so.2"); err != nil {
					return err
				}
				a, _ := os.Stat(filepath.Join(root, "usr/bin/tool"))
				b, _ := os.Stat(filepath.Join(root, "usr/bin/tool2"))
				if a == nil || b == nil || !os.SameFile(a, b) {
					return fmt.Errorf("usr/bin/tool2 is not a hard link of usr/bin/tool")
				}
				return nil
			}},
		{Name: "dots in names", Tar: tb(File("...", "dots"), File("a/...b", "x"), File("..c", "y")),
			Want: WantOK, Check: func(root string) error {
				for p, body := range map[string]string{"...": "dots", "a/...b": "x", "..c": "y"} {
					if err := wantContent(root, p, body); err != nil {
						return err
					}
				}
				return nil
			}},
		{Name: "missing parents are made", Tar: tb(File("x/y/z", "deep")), Want: WantOK, Check: func(root string) error {
			return wantContent(root, "x/y/z", "deep")
		}},
	}
}

func wantContent(root, rel, body string) error {
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	if string(data) != body {
		return fmt.Errorf("%s holds %q, want %q", rel, data, body)
	}
	return nil
}

func wantSymlink(root, rel, target string) error {
	got, err := os.Readlink(filepath.Join(root, rel))
	if err != nil || got != target {
		return fmt.Errorf("readlink %s = %q, %v; want %q", rel, got, err, target)
	}
	return nil
}

func modeOf(fi os.FileInfo) os.FileMode {
	if fi == nil {
		return 0
	}
	return fi.Mode()
}
