package layer

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"
)

func unsafeEntry(name, why string) error {
	return fmt.Errorf("%w %q: %s", ErrUnsafe, name, why)
}

// cleanName turns a tar name into a path relative to the root ("" for the
// root itself). Absolute names are taken relative to the root, as every
// image tool does; names that climb above it are unsafe.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", unsafeEntry(name, "name contains a NUL byte")
	}
	clean := path.Clean(strings.TrimLeft(name, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", unsafeEntry(name, "climbs out of the root")
	}
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// CheckEntry refuses, from its header alone, a tar entry that Apply would
// refuse whatever the file system holds: a name or hard link target that
// climbs out of the root or holds a NUL byte, an entry that replaces the
// root directory, a whiteout that names no file, a negative size, an entry
// type no layer has. Pull and load run it on every entry before anything is
// tagged; Apply still decides what depends on the file system (symlinks,
// links, parents). The error wraps ErrUnsafe or says what is unsupported.
func CheckEntry(hdr *tar.Header) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" && hdr.Typeflag != tar.TypeDir {
		return unsafeEntry(hdr.Name, "would replace the root directory itself")
	}
	if hdr.Size < 0 {
		return fmt.Errorf("tar entry %q has a negative size", hdr.Name)
	}
	if base := path.Base(name); name != "" && strings.HasPrefix(base, WhiteoutPrefix) &&
		base != WhiteoutOpaqueDir && !strings.HasPrefix(base, WhiteoutMetaPrefix) {
		if n := strings.TrimPrefix(base, WhiteoutPrefix); n == "" || n == "." || n == ".." {
			return unsafeEntry(hdr.Name, "a whiteout that names no file would delete its own directory or one above it")
		}
		return nil
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, '\x00', tar.TypeCont, tar.TypeGNUSparse, tar.TypeSymlink,
		tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return nil
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return err
		}
		if target == "" {
			return unsafeEntry(hdr.Name, "hard link to the root directory")
		}
		return nil
	}
	return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
}
