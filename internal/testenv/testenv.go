// Package testenv holds the conditions Berth's tests depend on: root, overlayfs,
// Linux. Outside CI a test whose condition is unmet skips; with CI=true it fails,
// because CI runs as root on a machine that meets every condition, and a skip
// there would hide a broken test.
package testenv

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// InCI reports whether the CI environment variable asks for strict conditions.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// skipOrFail skips outside CI and fails inside it.
func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and %s: this test must run in CI", why)
	}
	t.Skip(why)
}

// IsRoot reports whether the process runs as uid 0.
func IsRoot() bool { return os.Geteuid() == 0 }

// RequireRoot skips (or fails in CI) unless the test runs as root on Linux.
func RequireRoot(t testing.TB) {
	t.Helper()
	RequireLinux(t)
	if !IsRoot() {
		skipOrFail(t, "test needs root")
	}
}

// RequireLinux skips (or fails in CI) off Linux.
func RequireLinux(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		skipOrFail(t, "test needs Linux")
	}
}

var (
	overlayOnce sync.Once
	overlayOK   bool
)

// HasOverlay reports whether the kernel offers overlayfs.
func HasOverlay() bool {
	overlayOnce.Do(func() {
		data, err := os.ReadFile("/proc/filesystems")
		overlayOK = err == nil && strings.Contains(string(data), "\toverlay\n")
	})
	return overlayOK
}

// RequireOverlay skips (or fails in CI) unless root with overlayfs.
func RequireOverlay(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if !HasOverlay() {
		skipOrFail(t, "test needs overlayfs")
	}
}
