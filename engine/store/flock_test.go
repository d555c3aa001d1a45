package store

import (
	"os"
	"path/filepath"
	"testing"
)

// flock's modes, as Open uses them: an exclusive lock keeps others out,
// converting it to shared lets shared holders in but still no exclusive.
func TestFlockModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "active.lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	if err := flock(a, lockExclusive|lockNonBlocking); err != nil {
		t.Fatalf("first exclusive lock: %v", err)
	}
	if err := flock(b, lockShared|lockNonBlocking); err == nil {
		t.Fatal("a shared lock was granted while another handle held it exclusively")
	}
	if err := flock(a, lockShared); err != nil {
		t.Fatalf("convert to shared: %v", err)
	}
	if err := flock(b, lockShared|lockNonBlocking); err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	c := open()
	if err := flock(c, lockExclusive|lockNonBlocking); err == nil {
		t.Fatal("an exclusive lock was granted while two handles held it shared")
	}
	a.Close()
	b.Close()
	if err := flock(c, lockExclusive|lockNonBlocking); err != nil {
		t.Fatalf("exclusive after the others closed: %v", err)
	}
}
