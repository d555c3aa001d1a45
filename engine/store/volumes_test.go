package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthkit/berth/engine/store"
)

func TestVolumeLifecycle(t *testing.T) {
	s := openStore(t)
	v, created, err := s.CreateVolume("data", map[string]string{"k": "v"}, nil)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if v.Mountpoint != filepath.Join(s.Root(), "volumes", "data", "_data") || v.Driver != "local" {
		t.Errorf("volume = %+v", v)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Creating it again returns it, content untouched.
	again, created, err := s.CreateVolume("data", nil, nil)
	if err != nil || created || again.Labels["k"] != "v" {
		t.Fatalf("create again: %+v %v %v", again, created, err)
	}
	if n := s.VolumeSize("data"); n != 5 {
		t.Errorf("size = %d, want 5", n)
	}
	if _, _, err := s.CreateVolume("other", nil, nil); err != nil {
		t.Fatal(err)
	}
	all, err := s.Volumes()
	if err != nil || len(all) != 2 || all[0].Name != "data" || all[1].Name != "other" {
		t.Fatalf("volumes = %v %v", all, err)
	}
	if err := s.DeleteVolume("data"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Volume("data"); !errors.Is(err, store.ErrNotFound) || err.Error() != "get data: no such volume" {
		t.Errorf("after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "volumes", "data")); !os.IsNotExist(err) {
		t.Errorf("volume dir left behind: %v", err)
	}
}

func TestVolumeNamesStayInsideTheStore(t *testing.T) {
	s := openStore(t)
	for _, name := range []string{"../escape", "a/b", ".hidden", "x", ""} {
		if _, _, err := s.CreateVolume(name, nil, nil); err == nil {
			t.Errorf("CreateVolume(%q) succeeded", name)
		}
		if _, err := s.Volume(name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Volume(%q) = %v, want not found", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.Root()), "escape")); !os.IsNotExist(err) {
		t.Errorf("a volume escaped the store: %v", err)
	}
}
