package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`

const testGroup = `root:x:0:
wheel:x:10:root
app:x:1000:
audio:x:29:app
nogroup:x:65534:
`

func writeEtc(t *testing.T, passwd, group string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if passwd != "" {
		os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(passwd), 0o644)
	}
	if group != "" {
		os.WriteFile(filepath.Join(root, "etc/group"), []byte(group), 0o644)
	}
	return root
}

func TestResolveUser(t *testing.T) {
	root := writeEtc(t, testPasswd+"# comment\nbroken-line\nbig:x:99999999999:1::/:\n", testGroup)
	for _, tc := range []struct {
		spec  string
		extra []string
		want  ExecUser
		err   string
	}{
		{"", nil, ExecUser{UID: 0, GID: 0, Groups: []uint32{0, 10}, Home: "/root"}, ""},
		{"root", nil, ExecUser{UID: 0, GID: 0, Groups: []uint32{0, 10}, Home: "/root"}, ""},
		{"app", nil, ExecUser{UID: 1000, GID: 1000, Groups: []uint32{1000, 29}, Home: "/home/app"}, ""},
		{"1000", nil, ExecUser{UID: 1000, GID: 1000, Groups: []uint32{1000, 29}, Home: "/home/app"}, ""},
		{"app:wheel", nil, ExecUser{UID: 1000, GID: 10, Groups: []uint32{10}, Home: "/home/app"}, ""},
		{"app:77", []string{"audio", "5"}, ExecUser{UID: 1000, GID: 77, Groups: []uint32{77, 29, 5}, Home: "/home/app"}, ""},
		{"4242", nil, ExecUser{UID: 4242, GID: 0, Groups: []uint32{0}, Home: "/"}, ""},
		{"4242:4242", nil, ExecUser{UID: 4242, GID: 4242, Groups: []uint32{4242}, Home: "/"}, ""},
		{"nosuch", nil, ExecUser{}, "unable to find user nosuch: no matching entries in passwd file"},
		{"big", nil, ExecUser{}, "unable to find user big"},
		{"99999999999", nil, ExecUser{}, "unable to find user 99999999999"},
		{"app:nosuch", nil, ExecUser{}, "unable to find group nosuch: no matching entries in group file"},
		{"app", []string{"nosuch"}, ExecUser{}, "unable to find group nosuch"},
	} {
		got, err := ResolveUser(root, tc.spec, tc.extra)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.spec, *got, tc.want)
		}
	}
}

func TestResolveUserWithoutEtcFiles(t *testing.T) {
	root := writeEtc(t, "", "")
	got, err := ResolveUser(root, "", nil)
	if err != nil || got.UID != 0 || got.Home != "/" {
		t.Errorf("root without passwd: %+v %v", got, err)
	}
	if _, err := ResolveUser(root, "app", nil); err == nil {
		t.Errorf("named user without passwd resolved")
	}
	got, err = ResolveUser(root, "12:34", nil)
	if err != nil || got.UID != 12 || got.GID != 34 {
		t.Errorf("numeric without files: %+v %v", got, err)
	}
}

func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		sec  Security
		want CapSet
	}{
		{Security{}, 0xa80425fb},
		{Security{CapDrop: []string{"CHOWN"}}, 0xa80425fa},
		{Security{CapAdd: []string{"cap_net_admin"}}, 0xa80425fb | 1<<12},
		{Security{CapDrop: []string{"ALL"}, CapAdd: []string{"KILL"}}, 1 << 5},
		{Security{CapAdd: []string{"ALL"}, CapDrop: []string{"SYS_ADMIN"}}, allCaps() &^ (1 << 21)},
		{Security{Privileged: true, CapDrop: []string{"ALL"}}, allCaps()},
	} {
		got, err := Capabilities(tc.sec)
		if err != nil || got != tc.want {
			t.Errorf("%+v: got %#x (%v), want %#x", tc.sec, uint64(got), err, uint64(tc.want))
		}
	}
	if _, err := Capabilities(Security{CapAdd: []string{"FLY"}}); err == nil || err.Error() != `unknown capability: "FLY"` {
		t.Errorf("unknown capability: %v", err)
	}
	names := CapSet(0xa80425fb).Names()
	if len(names) != 14 || names[0] != "CAP_AUDIT_WRITE" {
		t.Errorf("Names = %v", names)
	}
}

// BenchmarkResolveUser is the container init's passwd and group lookup for
// the default user: allocations here are page faults of fresh heap spans
// in a new process on every start.
func BenchmarkResolveUser(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		b.Fatal(err)
	}
	for name, data := range map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ResolveUser(root, "", nil); err != nil {
			b.Fatal(err)
		}
	}
}
