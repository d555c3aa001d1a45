package layer

import (
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
)

// archive/tar can read GNU sparse files but cannot write them (golang/go#22735),
// so Diff writes sparse entries itself, between entries of a tar.Writer that
// has been flushed: a PAX header with the GNU 1.0 sparse records, a USTAR
// header, the sparse map, then only the data extents. Every reader that
// matters (archive/tar, GNU tar, bsdtar) expands them back.

const blockSize = 512

// Largest values the USTAR octal fields hold; larger ones go to PAX records.
const (
	maxOctal7  = 1<<21 - 1 // mode, uid, gid: 7 octal digits
	maxOctal11 = 1<<33 - 1 // size, mtime: 11 octal digits
)

// extent is a run of data in a sparse file.
type extent struct{ Offset, Length int64 }

// sparseHeader is what a sparse entry's headers carry.
type sparseHeader struct {
	Name     string // relative name, no leading slash
	Mode     int64
	Uid, Gid int
	ModTime  int64 // seconds
	Size     int64 // logical size
	Records  map[string]string
}

// formatPAXRecord formats "len key=value\n", where len counts itself.
func formatPAXRecord(k, v string) string {
	const padding = 3 // ' ', '=' and '\n'
	size := len(k) + len(v) + padding
	size += len(strconv.Itoa(size))
	rec := strconv.Itoa(size) + " " + k + "=" + v + "\n"
	if len(rec) != size { // the length's own digits pushed it over a power of ten
		size = len(rec)
		rec = strconv.Itoa(size) + " " + k + "=" + v + "\n"
	}
	return rec
}

// ustarBlock formats one USTAR header block. Values that do not fit are
// written as 0; the caller puts them in PAX records.
func ustarBlock(name string, typeflag byte, mode int64, uid, gid int, size, mtime int64) []byte {
	b := make([]byte, blockSize)
	prefix, base := splitUSTARName(name)
	copy(b[0:100], base)
	octal(b[100:108], mode, maxOctal7)
	octal(b[108:116], int64(uid), maxOctal7)
	octal(b[116:124], int64(gid), maxOctal7)
	octal(b[124:136], size, maxOctal11)
	octal(b[136:148], mtime, maxOctal11)
	b[156] = typeflag
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	copy(b[345:500], prefix)
	for i := 148; i < 156; i++ {
		b[i] = ' '
	}
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	octal(b[148:155], sum, 1<<18-1)
	b[155] = ' '
	return b
}

func octal(field []byte, v, limit int64) {
	if v < 0 || v > limit {
		v = 0
	}
	s := strconv.FormatInt(v, 8)
	n := len(field) - 1 // NUL terminated
	copy(field, strings.Repeat("0", n-len(s))+s)
	field[n] = 0
}

// splitUSTARName fits name into USTAR's prefix (155) and name (100) fields,
// best effort: a name that does not fit is truncated, and the real name is in
// a PAX record.
func splitUSTARName(name string) (prefix, base string) {
	if len(name) <= 100 {
		return "", name
	}
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '/' && i <= 155 && len(name)-i-1 <= 100 && len(name)-i-1 > 0 {
			return name[:i], name[i+1:]
		}
	}
	return "", name[:100]
}

func padding(n int64) int64 { return -n & (blockSize - 1) }

var zeroBlock [blockSize]byte

// sparseMap is a GNU 1.0 sparse entry's map, padded to a block: the
// count, then offset and length per extent, each on a line; dataBytes is
// the data the extents hold, which follows the map.
func sparseMap(extents []extent) (m []byte, dataBytes int64) {
	m = strconv.AppendInt(m, int64(len(extents)), 10)
	m = append(m, '\n')
	for _, e := range extents {
		m = strconv.AppendInt(m, e.Offset, 10)
		m = append(m, '\n')
		m = strconv.AppendInt(m, e.Length, 10)
		m = append(m, '\n')
		dataBytes += e.Length
	}
	return append(m, zeroBlock[:padding(int64(len(m)))]...), dataBytes
}

// sparsePAXRecords are a sparse entry's PAX records, sorted: the GNU
// sparse ones, the caller's, and the numbers too large for the ustar
// header's octal fields.
func sparsePAXRecords(h sparseHeader, encodedSize int64) string {
	records := map[string]string{
		"GNU.sparse.major":    "1",
		"GNU.sparse.minor":    "0",
		"GNU.sparse.name":     h.Name,
		"GNU.sparse.realsize": strconv.FormatInt(h.Size, 10),
	}
	maps.Copy(records, h.Records)
	if h.Uid > maxOctal7 {
		records["uid"] = strconv.Itoa(h.Uid)
	}
	if h.Gid > maxOctal7 {
		records["gid"] = strconv.Itoa(h.Gid)
	}
	if encodedSize > maxOctal11 {
		records["size"] = strconv.FormatInt(encodedSize, 10)
	}
	if h.ModTime < 0 || h.ModTime > maxOctal11 {
		records["mtime"] = strconv.FormatInt(h.ModTime, 10)
	}
	var pax strings.Builder
	for _, k := range slices.Sorted(maps.Keys(records)) {
		pax.WriteString(formatPAXRecord(k, records[k]))
	}
	return pax.String()
}

// writeSparseEntry writes a GNU 1.0 sparse entry to w, which must be at a
// block boundary, reading the extents' data from r.
func writeSparseEntry(w io.Writer, h sparseHeader, extents []extent, r io.ReaderAt, buf []byte) (dataBytes int64, err error) {
	// The map: count, then offset and length per extent, each on a line. A
	// file ending in a hole gets a final empty extent at its end, as GNU tar
	// writes it, so readers that trust the map see the right size.
	if n := len(extents); n == 0 || extents[n-1].Offset+extents[n-1].Length < h.Size {
		extents = append(slices.Clip(extents), extent{h.Size, 0})
	}
	m, dataBytes := sparseMap(extents)
	encodedSize := int64(len(m)) + dataBytes
	pax := sparsePAXRecords(h, encodedSize)

	dir, file := path.Split(h.Name)
	paxName := path.Join(dir, "PaxHeaders.0", file)
	if len(paxName) > 100 {
		paxName = paxName[:100]
	}
	var out []byte
	out = append(out, ustarBlock(paxName, 'x', 0, 0, 0, int64(len(pax)), 0)...)
	out = append(out, pax...)
	out = append(out, zeroBlock[:padding(int64(len(pax)))]...)
	out = append(out, ustarBlock(path.Join(dir, "GNUSparseFile.0", file), '0', h.Mode, h.Uid, h.Gid, encodedSize, h.ModTime)...)
	out = append(out, m...)
	if _, err := w.Write(out); err != nil {
		return 0, err
	}
	for _, e := range extents {
		if e.Length == 0 {
			continue
		}
		n, err := io.CopyBuffer(w, io.NewSectionReader(r, e.Offset, e.Length), buf)
		if err != nil {
			return 0, err
		}
		if n != e.Length {
			return 0, io.ErrUnexpectedEOF
		}
	}
	if _, err := w.Write(zeroBlock[:padding(encodedSize)]); err != nil {
		return 0, err
	}
	return dataBytes, nil
}
