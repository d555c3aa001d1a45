//go:build linux

package store

import (
	"os"
	"testing"

	"github.com/opencontainers/go-digest"
)

// A view's mapped text is unmapped once nothing holds it and a newer
// view replaced it, and at Close; a held view stays mapped.
func TestRawViewUnmappedWhenLetGo(t *testing.T) {
	bs := seedIDStore(t, 8)
	s, err := Open(bs.root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v := s.rawIndex()
	if v == nil || v.unmap == nil || v.holds != 1 {
		t.Fatalf("rawIndex = %+v, want a mapped view held once", v)
	}
	s.rawRelease(v, holdFaults(), func() {})
	if v.unmap == nil {
		t.Fatal("the current view was unmapped while the store may use it again")
	}
	if _, err := s.Tag(bs.ids[3], "moved/name:1"); err != nil { // rewrites index.json
		t.Fatal(err)
	}
	held := s.rawIndex()
	if held == nil || held == v {
		t.Fatalf("rawIndex after a write = %p, the old view %p", held, v)
	}
	if v.unmap != nil {
		t.Fatal("the replaced view is still mapped")
	}
	got, err := s.Image("moved/name:1")
	if err != nil || got.ID != bs.ids[3] {
		t.Fatalf("Image(moved/name:1) = %v, %v", got, err)
	}
	s.Close()
	if held.unmap == nil {
		t.Fatal("a view held at Close was unmapped under its holder")
	}
	s.rawRelease(held, holdFaults(), func() {})
	if held.unmap != nil {
		t.Fatal("the view let go after Close is still mapped")
	}
}

// Another program truncating index.json in place while it is mapped
// makes reading the view fault: the holder falls back to the parsed way
// instead of the process crashing.
func TestRawViewFaultFallsBack(t *testing.T) {
	bs := seedIDStore(t, 200) // several pages of text
	s, err := Open(bs.root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v := s.rawIndex()
	if v == nil || v.unmap == nil {
		t.Fatal("no mapped view")
	}
	data, err := os.ReadFile(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(s.indexPath(), 0); err != nil { // as os.WriteFile does
		t.Fatal(err)
	}
	fellBack := false
	func() {
		defer s.rawRelease(v, holdFaults(), func() { fellBack = true })
		v.has(digest.FromString("absent").String()) // reads every digest's last byte: the text is gone
	}()
	if !fellBack {
		t.Fatal("reading a truncated mapping did not fault into the fallback")
	}
	if err := os.WriteFile(s.indexPath(), data, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := s.Image(bs.tags[10])
	if err != nil || img.ID != bs.ids[10] {
		t.Fatalf("Image after the file came back = %v, %v", img, err)
	}
}
