package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"sort"
	"strings"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestVolumeMounts: a volume hides what the image holds at its path (the
// engine filled it at create, not the runtime), a read-only bind refuses
// writes with EROFS, a single file binds, and what the container writes in
// a volume never reaches its upper dir.
func TestVolumeMounts(t *testing.T) {
	testenv.RequireRoot(t)
	spec := newSpec(t, "sh", "-c", "cat /etc/notes 2>/dev/null || echo hidden; echo new > /etc/added; cat /ro/f; "+
		"echo x > /ro/g 2>/dev/null || echo refused; cat /one; grep ' /ro ' /proc/mounts")
	vol, ro := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "f"), []byte("ro file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(t.TempDir(), "one")
	if err := os.WriteFile(one, []byte("single\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec.Volumes = []Mount{
		{Type: "bind", Source: vol, Destination: "/etc"},
		{Type: "bind", Source: ro, Destination: "/ro", ReadOnly: true},
		{Type: "bind", Source: one, Destination: "/one", ReadOnly: true},
	}
	r := mustRun(t, spec)
	lines := strings.Split(r.stdout, "\n")
	if len(lines) < 5 || lines[0] != "hidden" || lines[1] != "ro file" || lines[2] != "refused" || lines[3] != "single" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	if !strings.Contains(lines[4], " ro,") {
		t.Errorf("/ro is not read-only: %q", lines[4])
	}
	if data, _ := os.ReadFile(filepath.Join(vol, "added")); string(data) != "new\n" {
		t.Errorf("volume/added = %q", data)
	}
	if _, err := os.Lstat(filepath.Join(vol, "notes")); err == nil {
		t.Error("the runtime filled the volume from the image; the engine does that at create")
	}
	upper := filepath.Join(filepath.Dir(spec.Root), "upper")
	if _, err := os.Lstat(filepath.Join(upper, "etc/added")); err == nil {
		t.Error("a file written into the volume reached the upper dir")
	}
	if _, err := os.Lstat(filepath.Join(ro, "g")); err == nil {
		t.Error("a write went through the read-only bind")
	}
}

// TestVolumeSourceSymlinkRefused: the runtime opens sources without
// following a symlink (the engine resolved the path the user named).
func TestVolumeSourceSymlinkRefused(t *testing.T) {
	testenv.RequireRoot(t)
	spec := newSpec(t, "true")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	spec.Volumes = []Mount{{Type: "bind", Source: link, Destination: "/data"}}
	if _, err := run(t, spec); err == nil || !strings.Contains(err.Error(), "bind source") {
		t.Fatalf("a symlinked source was mounted: %v", err)
	}
}

// TestVolumeTargetStaysInRoot: a target reached through a symlink that
// points out of root (absolute, or climbing with ..) resolves inside root;
// a link that dangles there is refused, as runc does; nothing is ever
// created where the link points on the host.
func TestVolumeTargetStaysInRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"abs": outside, "climb": "../../../../../.." + outside, "etclink": "/../../../../etc",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dest := range []string{"/abs/x", "/climb/y/z"} {
		if h, err := volumeTarget(root, dest, false); err == nil {
			h.Close()
			t.Errorf("%s: a target through a dangling link was made", dest)
		}
	}
	for _, tc := range []struct {
		dest   string
		isFile bool
	}{{"/etclink/sub", false}, {"/etclink/file", true}} {
		h, err := volumeTarget(root, tc.dest, tc.isFile)
		if err != nil {
			t.Fatalf("%s: %v", tc.dest, err)
		}
		p, err := pathInRoot(root, int(h.Fd()))
		h.Close()
		if err != nil || !strings.HasPrefix(p, filepath.Join(root, "etc")+"/") {
			t.Errorf("%s landed at %s (%v), want under root/etc", tc.dest, p, err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("created on the host: %v", entries)
	}
}

// TestVolumeTargetThroughSymlinkedRoot: a root named through a symlink
// still contains its own paths.
func TestVolumeTargetThroughSymlinkedRoot(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "root")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	h, err := volumeTarget(link, "/in/file", true)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := pathInRoot(link, int(h.Fd())); err != nil {
		t.Error(err)
	}
	if st, err := os.Lstat(filepath.Join(real, "in/file")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("in/file: %v %v", st, err)
	}
}

// TestGlobDirents: the masked paths' pattern expands from one listing to
// every candidate (existing or not: maskPath skips the missing), and the
// patterns it does not handle go to filepath.Glob.
func TestGlobDirents(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"cpu0/thermal_throttle", "cpu1", "cpufreq", "other/x"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got := globDirents(root + "/cpu*/thermal_throttle")
	want := []string{root + "/cpu0/thermal_throttle", root + "/cpu1/thermal_throttle", root + "/cpufreq/thermal_throttle"}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("globDirents = %q, want %q", got, want)
	}
	if got := globDirents(root + "/o*"); !reflect.DeepEqual(got, []string{root + "/other"}) {
		t.Errorf("last element: %q", got)
	}
	if got := globDirents(root + "/*/t*"); !reflect.DeepEqual(got, []string{root + "/cpu0/thermal_throttle"}) {
		t.Errorf("two wildcards (filepath.Glob): %q", got)
	}
	if got := globDirents(root + "/missing*/x"); got != nil {
		t.Errorf("no such parent: %q", got)
	}
}

// TestMaskPath: a file gets /dev/null, a directory an empty read-only
// tmpfs, and a path that does not exist (or runs through a file, as a
// pattern's match can) is skipped. In a mount namespace of its own thread.
func TestMaskPath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	for _, d := range []string{"dir/sub", "file"} {
		p := filepath.Join(dir, d)
		if strings.HasSuffix(d, "file") {
			if err := os.WriteFile(p, []byte("secret"), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread ends with its namespace
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return err
			}
			if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
				return err
			}
			for _, p := range []string{"file", "dir", "missing", "file/below"} {
				if err := maskPath(filepath.Join(dir, p)); err != nil {
					return fmt.Errorf("maskPath(%s): %w", p, err)
				}
			}
			if data, err := os.ReadFile(filepath.Join(dir, "file")); err != nil || len(data) != 0 {
				return fmt.Errorf("masked file reads %q, %v", data, err)
			}
			if entries, err := os.ReadDir(filepath.Join(dir, "dir")); err != nil || len(entries) != 0 {
				return fmt.Errorf("masked dir lists %v, %v", entries, err)
			}
			if err := os.Mkdir(filepath.Join(dir, "dir", "x"), 0o755); !errors.Is(err, unix.EROFS) {
				return fmt.Errorf("mkdir in the masked dir: %v, want EROFS", err)
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "file")); err != nil || string(data) != "secret" {
		t.Errorf("the host's view changed: %q, %v", data, err)
	}
}
