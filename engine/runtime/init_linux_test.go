package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestInitMessageRoundTrip: the spec and the seccomp program cross the
// spec pipe intact, in one write.
func TestInitMessageRoundTrip(t *testing.T) {
	prog, err := seccompFilter(Security{})
	if err != nil {
		t.Fatal(err)
	}
	spec := &Spec{ID: "abc", Root: "/r", Process: Process{Args: []string{"true"}, Env: []string{"PATH=/bin"}}}
	for _, in := range []*initMessage{
		{Mode: "container", Spec: spec, Filter: encodeFilter(prog), AwaitParent: true},
		{Mode: "exec", Spec: &Spec{}},
		{},
	} {
		var w countingWriter
		if err := writeInitMessage(&w, in); err != nil {
			t.Fatal(err)
		}
		if w.writes != 1 {
			t.Errorf("message written in %d writes, want 1", w.writes)
		}
		out, err := readInitMessage(bytes.NewReader(w.buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
		}
	}
}

// TestInitMessageCoversSpec: every field of Spec (but Prestart,
// KeepCgroupParents, DeferMountTeardown and SpareNext, which stay in the parent) survives the trip, with values that are not zero: a field
// added to Spec and forgotten in the encoding fails here.
func TestInitMessageCoversSpec(t *testing.T) {
	spec := &Spec{}
	n := 0
	fill(reflect.ValueOf(spec).Elem(), &n)
	spec.Prestart = nil
	spec.KeepCgroupParents = false
	spec.DeferMountTeardown = false
	spec.SpareNext = ""
	in := &initMessage{Mode: "container", Spec: spec}
	var w countingWriter
	if err := writeInitMessage(&w, in); err != nil {
		t.Fatal(err)
	}
	out, err := readInitMessage(bytes.NewReader(w.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip lost fields:\n got %+v\nwant %+v", out.Spec, in.Spec)
	}
}

// fill sets every field of v to a distinct non-zero value.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n)
		}
	case reflect.String:
		v.SetString("s" + strconv.Itoa(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(-1000 * *n))
	case reflect.Uint16, reflect.Uintptr:
		v.SetUint(uint64(*n))
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(s.Index(0), n)
		fill(s.Index(1), n)
		v.Set(s)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), n)
		}
	case reflect.Func:
	default:
		panic("fill: add a case for " + v.Kind().String())
	}
}

// TestInitMessageBadInput: a truncated, oversized or foreign message is an
// error, never a partial spec or a huge allocation.
func TestInitMessageBadInput(t *testing.T) {
	var w countingWriter
	if err := writeInitMessage(&w, &initMessage{Mode: "container", Spec: &Spec{ID: "x"}, Filter: make([]byte, 80)}); err != nil {
		t.Fatal(err)
	}
	full := w.buf.Bytes()
	withLen := func(body []byte) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":         {nil, "EOF"},
		"short header":  {full[:2], "EOF"},
		"truncated":     {full[:len(full)-8], "EOF"},
		"oversized":     {binary.LittleEndian.AppendUint32(nil, maxInitMessage+1), "over the limit"},
		"other version": {withLen([]byte{initMessageVersion + 1, 0}), "another version"},
		"json":          {withLen([]byte(`{"mode":"container"}`)), "another version"},
		"cut inside":    {withLen(full[4 : len(full)-3]), "truncated"},
		"huge count":    {withLen(append([]byte{initMessageVersion}, binary.AppendUvarint(nil, 1<<40)...)), "truncated"},
		"trailing":      {withLen(append(append([]byte{}, full[4:]...), 7)), "left over"},
	} {
		_, err := readInitMessage(bytes.NewReader(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
		if name == "other version" && !errors.Is(err, errInitVersion) {
			t.Errorf("other version: %v is not errInitVersion", err)
		}
	}
}

type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

// BenchmarkInitMessage is the spec's trip across the pipe, both ends: it
// runs on every container start, the decoding in a process of its own.
func BenchmarkInitMessage(b *testing.B) {
	prog, err := seccompFilter(Security{})
	if err != nil {
		b.Fatal(err)
	}
	spec := &Spec{ID: strings.Repeat("ab", 32), Root: "/var/lib/berth/snapshots/x/merged",
		RootfsMounts: []Mount{{Source: "overlay", Type: "overlay", Dir: "/var/lib/berth/layers", Data: "lowerdir=a:b:c,upperdir=/x/upper,workdir=/x/work"}},
		Mounts:       []Mount{{Source: "/c/hostname", Destination: "/etc/hostname", Type: "bind"}, {Source: "/c/hosts", Destination: "/etc/hosts", Type: "bind"}},
		Process:      Process{Args: []string{"true"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=abababababab"}}}
	msg := &initMessage{Mode: "container", Spec: spec, Filter: encodeFilter(prog)}
	var w countingWriter
	for i := 0; i < b.N; i++ {
		w.buf.Reset()
		if err := writeInitMessage(&w, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := readInitMessage(&w.buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSpareTakesItsContainersSecurity: what a spare does before its spec
// arrives (runInit, before readInitMessage) is the same for every
// container, and the spec, which comes a whole step later, decides the
// rest: a default container started from a spare gets Docker's
// capabilities, seccomp, masked paths and read-only /proc paths (with
// nosuid, nodev and noexec kept); a privileged one every capability, no
// seccomp, no masks and a writable /sys; one with --cap-add its extra
// capability and still seccomp.
func TestSpareTakesItsContainersSecurity(t *testing.T) {
	const script = `grep -E 'CapEff|Seccomp:' /proc/self/status
wc -c < /proc/timer_list
awk '$5=="/sys" || $5=="/proc/sys" || $5=="/proc/timer_list" {print $5, $6}' /proc/self/mountinfo`
	privileged := fmt.Sprintf("CapEff:\t%016x\nSeccomp:\t0\n", uint64(allCaps()&hostBounding(t)))
	cases := []struct {
		name   string
		change func(*Security)
		want   []string // lines of the script's output, in order
	}{
		{"default", func(*Security) {}, []string{"CapEff:\t00000000a80425fb", "Seccomp:\t2", "0",
			"/sys ro,nosuid,nodev,noexec,relatime", "/proc/timer_list rw,nosuid", "/proc/sys ro,nosuid,nodev,noexec,relatime"}},
		{"cap-add", func(s *Security) { s.CapAdd = []string{"NET_ADMIN"} }, []string{"CapEff:\t00000000a80435fb", "Seccomp:\t2", "0",
			"/sys ro,nosuid,nodev,noexec,relatime", "/proc/timer_list rw,nosuid", "/proc/sys ro,nosuid,nodev,noexec,relatime"}},
		{"privileged", func(s *Security) { s.Privileged = true }, append(strings.Split(strings.TrimSpace(privileged), "\n"),
			"/sys rw,nosuid,nodev,noexec,relatime")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := newSpec(t, "sh", "-c", script)
			tc.change(&next.Security)
			first := newSpec(t, "true")
			first.SpareNext = next.ID
			pid := sparePid(t, first)
			var stdout, stderr bytes.Buffer
			c, err := Start(next, IO{Stdout: &stdout, Stderr: &stderr})
			if err != nil {
				t.Fatal(err)
			}
			if c.Pid != pid {
				t.Fatalf("the container did not take the spare %d (its init is %d)", pid, c.Pid)
			}
			if _, err := c.Wait(); err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if tc.name == "privileged" {
				// timer_list is not masked: its size is the kernel's.
				got = slices.DeleteFunc(got, func(l string) bool { _, err := strconv.Atoi(l); return err == nil })
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s\n(stderr %q)", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), stderr.String())
			}
		})
	}
}

// The passwd and group parsers split a line once, into at most
// maxColonFields fields, the last holding the rest.
func TestSplitColonAndMembers(t *testing.T) {
	buf := make([]string, 0, maxColonFields)
	for line, want := range map[string][]string{
		"root:x:0:0:root:/root:/bin/sh": {"root", "x", "0", "0", "root", "/root", "/bin/sh"},
		"a":                             {"a"},
		"a::":                           {"a", "", ""},
		"1:2:3:4:5:6:7:8:9:10":          {"1", "2", "3", "4", "5", "6", "7", "8:9:10"},
	} {
		if got := splitColon(line, buf); !slices.Equal(got, want) {
			t.Errorf("splitColon(%q) = %q, want %q", line, got, want)
		}
	}
	g := groupEntry{members: "app,,root,"}
	for name, want := range map[string]bool{"app": true, "root": true, "ap": false, "app,": false} {
		if g.hasMember(name) != want {
			t.Errorf("hasMember(%q) = %v in %q", name, !want, g.members)
		}
	}
}

// TestOldRootIsDetached: the old root (every mount of the host, stacked on
// the new root by pivot_root) is gone before the process starts: the
// container's mount table holds its root once, and nothing but the mounts
// the init made.
func TestOldRootIsDetached(t *testing.T) {
	want := map[string]bool{"/": true, "/proc": true, "/dev": true, "/dev/pts": true, "/dev/shm": true, "/dev/mqueue": true, "/sys": true}
	for _, p := range ReadonlyPaths {
		want[p] = true
	}
	for _, pattern := range MaskedPaths {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			want[p] = true
		}
	}
	for _, readonly := range []bool{false, true} {
		spec := newSpec(t, "awk", "{print $5}", "/proc/self/mountinfo")
		spec.ReadonlyRootfs = readonly
		r := mustRun(t, spec)
		points := strings.Fields(r.stdout)
		if n := len(slices.DeleteFunc(slices.Clone(points), func(p string) bool { return p != "/" })); n != 1 {
			t.Errorf("read-only %v: / is mounted %d times: %q", readonly, n, r.stdout)
		}
		for _, p := range points {
			if !want[p] {
				t.Errorf("read-only %v: %s is mounted in the container (%q)", readonly, p, r.stdout)
			}
		}
	}
}
