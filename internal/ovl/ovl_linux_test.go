//go:build linux

package ovl

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

// With the kernel's overlayfs: a work directory mounted volatile once is
// refused by the kernel afterwards (the reason Mount exists), and Mount
// mounts it again, volatile or not.
func TestMountAfterAVolatileMount(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireOverlay(t)
	dir := t.TempDir()
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(dir, "merged")
	base := "lowerdir=" + filepath.Join(dir, "lower") + ",upperdir=" + filepath.Join(dir, "upper") + ",workdir=" + filepath.Join(dir, "work")
	mount := func(data string) error { return unix.Mount("overlay", target, "overlay", 0, data) }
	for i, data := range []string{base + ",volatile", base + ",volatile", base} {
		if err := Mount(dir, data, mount); err != nil {
			t.Fatalf("mount %d (%s): %v", i, data, err)
		}
		if err := os.WriteFile(filepath.Join(target, "f"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unix.Unmount(target, 0); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := mount(base); err == nil {
				_ = unix.Unmount(target, 0)
				t.Log("this kernel mounts a work directory marked volatile again")
			}
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "upper", "f")); err != nil || string(data) != "x" {
		t.Errorf("upper/f = %q, %v", data, err)
	}
}
