package runtime

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// containerMount is one line of the container's /proc/self/mountinfo.
type containerMount struct {
	root, point, opts, fstype string
}

// TestContainerMountsAndDev pins what a default container sees of its
// mounts and its /dev, whatever order or probes the init uses to build
// them (TestContainerIdentity pins its capabilities and seccomp): the
// system mounts with Docker's flags, every masked directory an empty
// read-only tmpfs and every masked file /dev/null, the read-only paths
// read-only, no mount point mounted twice (a failed attempt left
// behind), and /dev's devices, links and directories exactly.
func TestContainerMountsAndDev(t *testing.T) {
	spec := newSpec(t, "sh", "-c", `cat /proc/self/mountinfo; echo ---; cd /dev && for f in * .*; do stat -c '%A %t:%T %n %N' "$f"; done`)
	r := mustRun(t, spec)
	mountinfo, dev, ok := strings.Cut(r.stdout, "---\n")
	if !ok {
		t.Fatalf("output %q (stderr %q)", r.stdout, r.stderr)
	}
	mounts := map[string]containerMount{}
	for _, line := range strings.Split(strings.TrimSpace(mountinfo), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 6 || sep < 0 || sep+1 >= len(f) {
			t.Fatalf("mountinfo line %q", line)
		}
		if _, dup := mounts[f[4]]; dup {
			t.Errorf("%s is mounted twice", f[4])
		}
		mounts[f[4]] = containerMount{root: f[3], point: f[4], opts: f[5], fstype: f[sep+1]}
	}
	system := []containerMount{
		{point: "/proc", fstype: "proc", opts: "rw,nosuid,nodev,noexec"},
		{point: "/dev", fstype: "tmpfs", opts: "rw,nosuid"},
		{point: "/dev/pts", fstype: "devpts", opts: "rw,nosuid,noexec"},
		{point: "/dev/shm", fstype: "tmpfs", opts: "rw,nosuid,nodev,noexec"},
		{point: "/dev/mqueue", fstype: "mqueue", opts: "rw,nosuid,nodev,noexec"},
		{point: "/sys", fstype: "sysfs", opts: "ro,nosuid,nodev,noexec"},
	}
	for _, want := range system {
		got, ok := mounts[want.point]
		if !ok || got.fstype != want.fstype || !hasOpts(got.opts, want.opts) {
			t.Errorf("%s: got %+v, want %s with %s", want.point, got, want.fstype, want.opts)
		}
	}
	masked := 0
	for _, pattern := range MaskedPaths {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				continue
			}
			masked++
			got, ok := mounts[p]
			switch {
			case !ok:
				t.Errorf("%s is not masked", p)
			case st.IsDir() && (got.fstype != "tmpfs" || !hasOpts(got.opts, "ro,nosuid,nodev,noexec")):
				t.Errorf("directory %s is masked with %+v, want an empty read-only tmpfs", p, got)
			case !st.IsDir() && got.root != "/null":
				t.Errorf("file %s is masked with %+v, want /dev/null", p, got)
			}
		}
	}
	for _, p := range ReadonlyPaths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if got, ok := mounts[p]; !ok || !hasOpts(got.opts, "ro") {
			t.Errorf("%s is mounted %+v, want read-only", p, got)
		}
	}
	if masked < 3 {
		t.Errorf("only %d masked paths exist here: %v", masked, mounts)
	}
	wantDev := []string{
		"crw-rw-rw- 1:7 full", "crw-rw-rw- 1:3 null", "crw-rw-rw- 1:8 random",
		"crw-rw-rw- 5:0 tty", "crw-rw-rw- 1:9 urandom", "crw-rw-rw- 1:5 zero",
		"drwxrwxrwt 0:0 shm", "drwxr-xr-x 0:0 .", "drwxr-xr-x 0:0 ..",
		"drwxrwxrwt 0:0 mqueue", "drwxr-xr-x 0:0 pts",
		"lrwxrwxrwx 0:0 core 'core' -> '/proc/kcore'",
		"lrwxrwxrwx 0:0 fd 'fd' -> '/proc/self/fd'",
		"lrwxrwxrwx 0:0 ptmx 'ptmx' -> 'pts/ptmx'",
		"lrwxrwxrwx 0:0 stderr 'stderr' -> '/proc/self/fd/2'",
		"lrwxrwxrwx 0:0 stdin 'stdin' -> '/proc/self/fd/0'",
		"lrwxrwxrwx 0:0 stdout 'stdout' -> '/proc/self/fd/1'",
	}
	var gotDev []string
	for _, line := range strings.Split(strings.TrimSpace(dev), "\n") {
		// %N quotes plain names too: keep it only for links.
		if f := strings.Fields(line); len(f) == 4 && !strings.HasPrefix(f[0], "l") {
			line = strings.Join(f[:3], " ")
		}
		gotDev = append(gotDev, line)
	}
	slices.Sort(gotDev)
	slices.Sort(wantDev)
	if !slices.Equal(gotDev, wantDev) {
		t.Errorf("/dev:\n%s\nwant\n%s\n(stderr %q)", strings.Join(gotDev, "\n"), strings.Join(wantDev, "\n"), r.stderr)
	}
}

// hasOpts reports whether the comma-separated options have every one of
// want's.
func hasOpts(opts, want string) bool {
	have := strings.Split(opts, ",")
	for _, o := range strings.Split(want, ",") {
		if !slices.Contains(have, o) {
			return false
		}
	}
	return true
}

// TestScanColonBounds: the container's passwd and group files are read
// with plain system calls, at most maxEtcFile bytes, and a line longer
// than maxEtcLine is refused as bufio.Scanner refused it.
func TestScanColonBounds(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long")
	if err := os.WriteFile(long, []byte("root:x:0:0::/root:/bin/sh\n"+strings.Repeat("a", maxEtcLine+1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readPasswd(long); !errors.Is(err, bufio.ErrTooLong) {
		t.Errorf("a line over %d bytes: %v, want bufio.ErrTooLong", maxEtcLine, err)
	}
	big := filepath.Join(dir, "big")
	line := "u:x:1:1::/home/u:/bin/sh\n"
	data := strings.Repeat(line, maxEtcFile/len(line)+10)
	if err := os.WriteFile(big, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readEtcFile(big, maxEtcFile)
	if err != nil || got != data[:maxEtcFile] {
		t.Errorf("read %d bytes of %d, %v; want the first %d", len(got), len(data), err, maxEtcFile)
	}
	// The cut-off last line counts when it has fields enough, as it did
	// behind an io.LimitReader.
	want := maxEtcFile / len(line)
	if tail := data[want*len(line) : maxEtcFile]; strings.Count(tail, ":") >= 3 {
		want++
	}
	if entries, err := readPasswd(big); err != nil || len(entries) != want {
		t.Errorf("%d entries, %v; want %d", len(entries), err, want)
	}
	if entries, err := readPasswd(filepath.Join(dir, "missing")); err != nil || entries != nil {
		t.Errorf("a missing file: %v, %v; want no entries", entries, err)
	}
	if _, err := readPasswd(dir); err == nil {
		t.Error("a directory as passwd file: no error")
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if entries, err := readPasswd(fifo); err != nil || entries != nil {
		t.Errorf("a FIFO as passwd file: %v, %v; want it read as empty, at once", entries, err)
	}
}

// TestReadonlyRootfsIsTheNewRoot: with ReadonlyRootfs the init remounts
// "/" read-only after the old root is detached: the container's one "/"
// is read-only and refuses writes.
func TestReadonlyRootfsIsTheNewRoot(t *testing.T) {
	spec := newSpec(t, "sh", "-c", `awk '$5=="/" {print $5, substr($6,1,2)}' /proc/self/mountinfo; touch /x && echo wrote`)
	spec.ReadonlyRootfs = true
	r := mustRun(t, spec)
	if r.stdout != "/ ro\n" || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("got %q (stderr %q), want one read-only / that refuses writes", r.stdout, r.stderr)
	}
}
