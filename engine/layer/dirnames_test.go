//go:build linux

package layer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// readDirNames lists what Readdirnames lists, sorted, without "." and "..".
func TestReadDirNames(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 3000 { // several getdents buffers
		name := fmt.Sprintf("f%05d-%s", 2999-i, "long-enough-to-fill-the-buffer")
		want = append(want, name)
		must(t, os.WriteFile(filepath.Join(dir, name), nil, 0o644))
	}
	must(t, os.Mkdir(filepath.Join(dir, "Zdir"), 0o755))
	want = append(want, "Zdir")
	slices.Sort(want)
	n, err := readDirNames(dir)
	must(t, err)
	var got []string
	for i := range n.len() {
		got = append(got, n.name(i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d names (%.3v...), want %d (%.3v...)", len(got), got, len(want), want)
	}
	empty, err := readDirNames(t.TempDir())
	must(t, err)
	if empty.len() != 0 {
		t.Errorf("empty dir: %d names", empty.len())
	}
	if _, err := readDirNames(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v, want not exist", err)
	}
}

// A record shorter than its header or longer than the buffer is an error,
// never a panic or a read past the buffer.
func TestDirNamesParseMalformed(t *testing.T) {
	record := func(reclen int, name string) []byte {
		b := make([]byte, 19+len(name)+1)
		if reclen == 0 {
			reclen = len(b)
		}
		binary.NativeEndian.PutUint16(b[16:18], uint16(reclen))
		copy(b[19:], name)
		return b
	}
	good := record(0, "abcd")
	for name, buf := range map[string][]byte{
		"short header":      good[:10],
		"reclen too small":  record(3, "abcd"),
		"reclen past end":   record(200, "abcd"),
		"good then garbage": append(slices.Clone(good), 1, 2, 3),
	} {
		var n dirNames
		if err := n.parse(buf); !errors.Is(err, errDirent) {
			t.Errorf("%s: %v, want errDirent", name, err)
		}
	}
	var n dirNames
	must(t, n.parse(slices.Concat(good, record(0, "."), record(0, ".."))))
	if len(n.ends) != 1 || string(n.arena) != "abcd" {
		t.Errorf("parsed %q %v, want abcd alone", n.arena, n.ends)
	}
}
