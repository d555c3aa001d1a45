package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
)

// newLayer makes a lower dir holding files (name → content).
func newLayer(t *testing.T, parent, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	for f, content := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mountedInProc(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

func TestPrepareLayoutWithoutRoot(t *testing.T) {
	root := t.TempDir()
	base := newLayer(t, root, "layers/base", map[string]string{"etc/os": "base"})
	top := newLayer(t, root, "layers/top", map[string]string{"etc/os": "top"})
	sn := New(filepath.Join(root, "containers"))

	mounts, err := sn.Prepare("c1", []string{top, base})
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 1 {
		t.Fatalf("got %d mounts, want 1", len(mounts))
	}
	m := mounts[0]
	wantData := "lowerdir=l/0:l/1,upperdir=upper,workdir=work"
	if got := strings.TrimSuffix(m.Data(), ",index=off"); got != wantData {
		t.Errorf("data = %q, want %q", got, wantData)
	}
	if m.Type != "overlay" || m.Dir != filepath.Join(root, "containers", "c1") {
		t.Errorf("mount = %+v", m)
	}
	// Prepare no longer reads l/ back: what it returns is what Mounts
	// reads from the links it made.
	again, err := sn.Mounts("c1")
	if err != nil || !reflect.DeepEqual(again, mounts) {
		t.Errorf("Mounts = %+v, %v; Prepare returned %+v", again, err, mounts)
	}
	lowers, err := sn.LowerDirs("c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(lowers) != 2 || lowers[0] != top || lowers[1] != base {
		t.Errorf("LowerDirs = %v, want [%s %s]", lowers, top, base)
	}
	for _, d := range []string{sn.UpperDir("c1"), sn.WorkDir("c1"), sn.MergedDir("c1")} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Errorf("%s: not a directory (%v)", d, err)
		}
	}

	if _, err := sn.Prepare("c1", []string{base}); !errors.Is(err, os.ErrExist) {
		t.Errorf("second Prepare: err = %v, want os.ErrExist", err)
	}
	// The failed second Prepare must not have damaged the first.
	if lowers, _ := sn.LowerDirs("c1"); len(lowers) != 2 {
		t.Errorf("after failed Prepare, LowerDirs = %v", lowers)
	}

	// The container's record beside the snapshot survives Remove.
	record := filepath.Join(sn.Dir("c1"), "config.json")
	if err := os.WriteFile(record, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sn.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sn.UpperDir("c1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("upper survived Remove: %v", err)
	}
	if readFile(t, record) != "{}" {
		t.Errorf("record changed")
	}
	os.Remove(record)
	if err := sn.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sn.Dir("c1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty snapshot dir survived Remove: %v", err)
	}
}

func TestPrepareRejectsBadInput(t *testing.T) {
	root := t.TempDir()
	sn := New(filepath.Join(root, "containers"))
	for _, key := range []string{"", "..", "a/b"} {
		if _, err := sn.Prepare(key, nil); err == nil {
			t.Errorf("Prepare(%q) succeeded", key)
		}
	}
	_, err := sn.Prepare("c2", []string{filepath.Join(root, "layers", "gone")})
	if err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("missing layer: err = %v", err)
	}
	if _, err := os.Stat(sn.Dir("c2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed Prepare left %s behind", sn.Dir("c2"))
	}
	if _, err := sn.Prepare("c3", []string{"layers/relative"}); err == nil {
		t.Errorf("relative lower dir accepted")
	}
	many := make([]string, MaxLayers+1)
	for i := range many {
		many[i] = root
	}
	_, err = sn.Prepare("c4", many)
	if err == nil || !strings.Contains(err.Error(), "limit of 500") {
		t.Errorf("too many layers: err = %v", err)
	}
}

func TestMountOverlay(t *testing.T) {
	testenv.RequireOverlay(t)
	root := t.TempDir()
	base := newLayer(t, root, "layers/base", map[string]string{"etc/os": "base", "bin/sh": "sh"})
	top := newLayer(t, root, "layers/top", map[string]string{"etc/os": "top"})
	sn := New(filepath.Join(root, "containers"))
	if _, err := sn.Prepare("c1", []string{top, base}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sn.Remove("c1") })

	merged, err := sn.Mount("c1")
	if err != nil {
		t.Fatal(err)
	}
	if !sn.IsMounted("c1") || !mountedInProc(t, merged) {
		t.Fatalf("%s not mounted after Mount", merged)
	}
	// Mounting twice is a no-op, not a second layer of mounts.
	if _, err := sn.Mount("c1"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(merged, "etc/os")); got != "top" {
		t.Errorf("etc/os = %q, want the top layer's", got)
	}
	if got := readFile(t, filepath.Join(merged, "bin/sh")); got != "sh" {
		t.Errorf("bin/sh = %q, want the base layer's", got)
	}
	if err := os.WriteFile(filepath.Join(merged, "new"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(sn.UpperDir("c1"), "new")); got != "x" {
		t.Errorf("upper/new = %q", got)
	}
	if _, err := os.Stat(filepath.Join(top, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("write reached a lower dir")
	}
	if err := sn.Unmount("c1"); err != nil {
		t.Fatal(err)
	}
	if sn.IsMounted("c1") || mountedInProc(t, merged) {
		t.Fatalf("%s still mounted after Unmount", merged)
	}
	if err := sn.Unmount("c1"); err != nil {
		t.Errorf("Unmount of an unmounted snapshot: %v", err)
	}
	// Remove unmounts too.
	if _, err := sn.Mount("c1"); err != nil {
		t.Fatal(err)
	}
	if err := sn.Remove("c1"); err != nil {
		t.Fatal(err)
	}
	if mountedInProc(t, merged) {
		t.Fatalf("%s still mounted after Remove", merged)
	}
}

func TestMountEmptyLower(t *testing.T) {
	testenv.RequireOverlay(t)
	sn := New(filepath.Join(t.TempDir(), "containers"))
	prepared, err := sn.Prepare("scratch", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sn.Remove("scratch") })
	if again, err := sn.Mounts("scratch"); err != nil || !reflect.DeepEqual(again, prepared) {
		t.Errorf("Mounts = %+v, %v; Prepare returned %+v", again, err, prepared)
	}
	lowers, err := sn.LowerDirs("scratch")
	if err != nil || len(lowers) != 0 {
		t.Fatalf("LowerDirs = %v, %v; want none", lowers, err)
	}
	merged, err := sn.Mount("scratch")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(merged)
	if err != nil || len(entries) != 0 {
		t.Fatalf("empty snapshot lists %v (%v)", entries, err)
	}
}

// TestMountManyLayers mounts more layers with long absolute paths than one
// page of absolute lowerdir options would hold.
func TestMountManyLayers(t *testing.T) {
	testenv.RequireOverlay(t)
	root := filepath.Join(t.TempDir(), strings.Repeat("long-path-", 8))
	const n = 100
	lowers := make([]string, n)
	total := 0
	for i := range lowers {
		// Top first: layer i holds file "i"; every layer writes "who".
		lowers[i] = newLayer(t, root, "layers/"+strings.Repeat("a", 60)+strconv.Itoa(i),
			map[string]string{strconv.Itoa(i): "", "who": strconv.Itoa(i)})
		total += len(lowers[i]) + 1
	}
	if total < 4096 {
		t.Fatalf("test setup: absolute lowerdir list is only %d bytes", total)
	}
	sn := New(filepath.Join(root, "containers"))
	if _, err := sn.Prepare("deep", lowers); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sn.Remove("deep") })
	merged, err := sn.Mount("deep")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n+1 {
		t.Errorf("merged has %d entries, want %d", len(entries), n+1)
	}
	if got := readFile(t, filepath.Join(merged, "who")); got != "0" {
		t.Errorf("who = %q, want the top layer's 0", got)
	}
	if err := sn.Remove("deep"); err != nil {
		t.Fatal(err)
	}
	if mountedInProc(t, merged) {
		t.Errorf("still mounted")
	}
}

// TestPrepareStagedIsPrepare: a snapshot whose directories were staged
// ahead has Prepare's layout, modes and mounts; the staged directory is
// moved, not copied; a key that exists is refused with the staged
// directory left where it was; a missing layer fails as Prepare does.
func TestPrepareStagedIsPrepare(t *testing.T) {
	root := t.TempDir()
	base := newLayer(t, root, "layers/base", map[string]string{"etc/os": "base"})
	top := newLayer(t, root, "layers/top", map[string]string{"etc/os": "top"})
	sn := New(filepath.Join(root, "containers"))
	want, err := sn.Prepare("plain", []string{top, base})
	if err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(root, "stage-c1")
	if err := Stage(staged); err != nil {
		t.Fatal(err)
	}
	if err := Stage(staged); !errors.Is(err, os.ErrExist) {
		t.Fatalf("staging twice: err = %v, want os.ErrExist", err)
	}
	got, err := sn.PrepareStaged("c1", staged, []string{top, base})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Data() != want[0].Data() || got[0].Dir != sn.Dir("c1") {
		t.Errorf("mounts = %+v, want %+v in %s", got, want, sn.Dir("c1"))
	}
	if again, err := sn.Mounts("c1"); err != nil || !reflect.DeepEqual(again, got) {
		t.Errorf("Mounts = %+v, %v; PrepareStaged returned %+v", again, err, got)
	}
	if _, err := os.Stat(staged); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staged dir still there: %v", err)
	}
	for _, part := range []string{"", "upper", "work", "merged", "l", "l/0", "l/1"} {
		a, aerr := os.Lstat(filepath.Join(sn.Dir("plain"), part))
		b, berr := os.Lstat(filepath.Join(sn.Dir("c1"), part))
		if aerr != nil || berr != nil || a.Mode() != b.Mode() {
			t.Errorf("%q: staged %v (%v), prepared %v (%v)", part, b, berr, a, aerr)
		}
	}

	if err := Stage(staged); err != nil {
		t.Fatal(err)
	}
	if _, err := sn.PrepareStaged("c1", staged, []string{base}); !errors.Is(err, os.ErrExist) {
		t.Errorf("PrepareStaged of an existing key: err = %v, want os.ErrExist", err)
	}
	if lowers, _ := sn.LowerDirs("c1"); len(lowers) != 2 {
		t.Errorf("after the refused PrepareStaged, LowerDirs = %v", lowers)
	}
	if _, err := os.Stat(filepath.Join(staged, "upper")); err != nil {
		t.Errorf("refused staged dir: %v", err)
	}
	if _, err := sn.PrepareStaged("c2", staged, []string{filepath.Join(root, "layers/gone")}); err == nil ||
		!strings.Contains(err.Error(), "is missing or unreadable") {
		t.Errorf("missing layer: err = %v", err)
	}
	if _, err := os.Stat(sn.Dir("c2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed PrepareStaged left %s: %v", sn.Dir("c2"), err)
	}
}
