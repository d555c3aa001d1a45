package runtime

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fdsTo counts this process's descriptors that refer to the namespace
// link target ns ("mnt:[4026532...]").
func fdsTo(t *testing.T, ns string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == ns {
			n++
		}
	}
	return n
}

// A build step's container (DeferMountTeardown) keeps its mount namespace
// past its exit through a descriptor of the parent's, which goes once
// WaitMounts returns; any other container's namespace is the kernel's
// alone. The spec's cleanup checks that nothing stays mounted.
func TestDeferMountTeardownHoldsTheNamespaceUntilReleased(t *testing.T) {
	for _, deferred := range []bool{true, false} {
		spec := newSpec(t, "cat")
		spec.DeferMountTeardown = deferred
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		c, err := Start(spec, IO{Stdin: r})
		r.Close()
		if err != nil {
			w.Close()
			t.Fatal(err)
		}
		ns, err := os.Readlink("/proc/" + strconv.Itoa(c.Pid) + "/ns/mnt")
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if deferred {
			want = 1
		}
		if got := fdsTo(t, ns); got != want {
			t.Errorf("deferred=%v: %d descriptors on the container's %s while it runs, want %d", deferred, got, ns, want)
		}
		w.Close()
		if st, err := c.Wait(); err != nil || st.Code != 0 {
			t.Fatalf("wait: %+v %v", st, err)
		}
		c.WaitMounts()
		if got := fdsTo(t, ns); got != 0 {
			t.Errorf("deferred=%v: %d descriptors on %s after WaitMounts, want none", deferred, got, ns)
		}
	}
}
