//go:build linux

package layertest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Entry is one entry of a tarball built by Tar.
type Entry struct {
	Name     string
	Type     byte // tar.Type*; 0 means a regular file
	Body     string
	Link     string
	Mode     int64 // 0 means 0644, or 0755 for a directory
	Uid, Gid int
	Major    int64
	Minor    int64
	PAX      map[string]string
}

// File is a regular file holding body.
func File(name, body string) Entry { return Entry{Name: name, Type: tar.TypeReg, Body: body} }

// Dir is a directory.
func Dir(name string) Entry { return Entry{Name: name, Type: tar.TypeDir} }

// Symlink is a symbolic link to target.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Link: target}
}

// Hardlink is a hard link to target, a name in the archive.
func Hardlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeLink, Link: target}
}

// Whiteout is an empty regular file: named .wh.NAME or .wh..wh..opq it is
// an AUFS-style whiteout marker.
func Whiteout(name string) Entry { return Entry{Name: name, Type: tar.TypeReg} }

// BlockDev is a block device node.
func BlockDev(name string, major, minor int64) Entry {
	return Entry{Name: name, Type: tar.TypeBlock, Major: major, Minor: minor}
}

// Mtime is the modification time of every entry Tar writes.
var Mtime = time.Date(2021, 5, 4, 3, 2, 1, 0, time.UTC)

// Tar builds an uncompressed PAX tar from entries. It panics if the
// archive/tar writer refuses an entry, which is a bug in the caller.
func Tar(entries ...Entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{
			Name: e.Name, Typeflag: typ, Linkname: e.Link, Mode: mode,
			Uid: e.Uid, Gid: e.Gid, ModTime: Mtime, Format: tar.FormatPAX,
			Devmajor: e.Major, Devminor: e.Minor, PAXRecords: e.PAX,
		}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(fmt.Sprintf("layertest: tar entry %s: %v", e.Name, err))
		}
		if typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.Body); err != nil {
				panic(fmt.Sprintf("layertest: tar entry %s: %v", e.Name, err))
			}
		}
	}
	if err := tw.Close(); err != nil {
		panic(fmt.Sprintf("layertest: close tar: %v", err))
	}
	return buf.Bytes()
}

// truncatedHuge is a tar whose only entry claims 1 TiB and holds 5 bytes,
// with no padding and no end blocks.
func truncatedHuge() []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644}); err != nil {
		panic(err)
	}
	if _, err := tw.Write([]byte("short")); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// hugeSparse is a GNU 1.0 sparse entry (PAX records plus an in-data map)
// whose logical size is 2^60 bytes, all hole, followed by the end blocks.
// archive/tar cannot write one, so the blocks are laid out by hand.
func hugeSparse() []byte {
	const name, size = "holes", int64(1) << 60
	sparseMap := "1\n" + strconv.FormatInt(size, 10) + "\n0\n"
	sparseMap += strings.Repeat("\x00", pad(len(sparseMap)))
	records := []string{ // sorted by key, as GNU tar writes them
		paxRecord("GNU.sparse.major", "1"),
		paxRecord("GNU.sparse.minor", "0"),
		paxRecord("GNU.sparse.name", name),
		paxRecord("GNU.sparse.realsize", strconv.FormatInt(size, 10)),
	}
	pax := strings.Join(records, "")
	var out []byte
	out = append(out, ustarBlock("PaxHeaders.0/"+name, 'x', 0, int64(len(pax)))...)
	out = append(out, pax...)
	out = append(out, make([]byte, pad(len(pax)))...)
	out = append(out, ustarBlock("GNUSparseFile.0/"+name, '0', 0o644, int64(len(sparseMap)))...)
	out = append(out, sparseMap...)
	return append(out, make([]byte, 1024)...)
}

func pad(n int) int { return -n & 511 }

// paxRecord formats "len key=value\n", where len counts its own digits.
func paxRecord(k, v string) string {
	size := len(k) + len(v) + 3
	size += len(strconv.Itoa(size))
	rec := strconv.Itoa(size) + " " + k + "=" + v + "\n"
	if len(rec) != size {
		rec = strconv.Itoa(len(rec)) + " " + k + "=" + v + "\n"
	}
	return rec
}

// ustarBlock formats one USTAR header block with uid, gid and mtime 0.
func ustarBlock(name string, typeflag byte, mode, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	octal := func(field []byte, v int64) {
		s := strconv.FormatInt(v, 8)
		copy(field, strings.Repeat("0", len(field)-1-len(s))+s)
	}
	octal(b[100:108], mode)
	octal(b[108:116], 0)
	octal(b[116:124], 0)
	octal(b[124:136], size)
	octal(b[136:148], 0)
	b[156] = typeflag
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	octal(b[148:155], sum)
	b[155] = ' '
	return b
}
