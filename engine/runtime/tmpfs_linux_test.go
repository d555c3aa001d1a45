package runtime

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestTmpfsMount(t *testing.T) {
	m, err := TmpfsMount("/run/", "size=64m,exec,mode=1777,ro")
	if err != nil {
		t.Fatal(err)
	}
	if m.Destination != "/run" || m.Type != "tmpfs" || m.Data != "size=64m,mode=1777" {
		t.Errorf("mount %+v", m)
	}
	if want := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_RDONLY); m.Flags != want {
		t.Errorf("flags %#x, want %#x (exec clears noexec, ro sets rdonly)", m.Flags, want)
	}
	for _, bad := range []struct{ dest, opts, want string }{
		{"run", "", "must be an absolute path"},
		{"/", "", "root filesystem cannot be a tmpfs"},
		{"/proc", "", "does not mount a tmpfs over /proc"},
		{"/sys/fs/cgroup", "", "does not mount a tmpfs over /sys"},
		{"/x", "bogus", `invalid --tmpfs option "bogus"`},
		{"/x", "size=", `invalid --tmpfs option "size="`},
		{"/x", "context=foo", `invalid --tmpfs option "context=foo"`},
	} {
		if _, err := TmpfsMount(bad.dest, bad.opts); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s:%s: %v, want %q", bad.dest, bad.opts, err, bad.want)
		}
	}
}
