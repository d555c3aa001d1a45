package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
)

// allLimits touch every hierarchy berth uses, so every parent is made and
// removed (the v1 cpuset one with its CPUs and memory nodes inherited).
var allLimits = Resources{Memory: 64 << 20, PidsLimit: 10, CPUShares: 512, CpusetCpus: "0", CpusetMems: "0"}

// testParent is a parent cgroup name of berth's scheme, unique to the test.
func testParent(t *testing.T) string {
	return "berth-test-" + randomID(t)[:12]
}

// requireCgroups skips (fails in CI) unless berth can make cgroups here.
func requireCgroups(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	if ok, _ := Rootless(); ok {
		t.Skip("rootless mode")
	}
	l := cgroups()
	if l.v2Root == "" || len(l.v1) == 0 && !l.v2Has["memory"] {
		t.Skip("no cgroup hierarchies with the memory controller on this machine")
	}
}

// parentDirs are the parent directories of parent's containers, one per
// hierarchy.
func parentDirs(parent string) map[string]string {
	out := map[string]string{}
	for ctrl, dir := range CgroupFor(parent, "x").dirs {
		out[ctrl] = filepath.Dir(dir)
	}
	return out
}

func assertGone(t *testing.T, what string, dirs map[string]string) {
	t.Helper()
	for ctrl, dir := range dirs {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s %s cgroup %s left behind (stat: %v)", what, ctrl, dir, err)
		}
	}
}

func assertThere(t *testing.T, what string, dirs map[string]string) {
	t.Helper()
	for ctrl, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s %s cgroup %s is gone: %v", what, ctrl, dir, err)
		}
	}
}

// TestCgroupParentConcurrentCreateDestroy: starts and removals under one
// parent race (a removal takes the parent away between another start's
// parent and child); no start fails, every limit lands, and once all are
// gone no empty parent is left in any hierarchy.
func TestCgroupParentConcurrentCreateDestroy(t *testing.T) {
	requireCgroups(t)
	parent := testParent(t)
	t.Cleanup(func() { removeTestParents(parent) })
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := createCheckDestroy(parent, fmt.Sprintf("g%d-%d", g, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assertGone(t, "parent", parentDirs(parent))
}

// createCheckDestroy makes one container's cgroups, checks the limits the
// kernel took (a recreated parent got its cpuset and controllers again),
// and removes them.
func createCheckDestroy(parent, id string) error {
	cg := CgroupFor(parent, id)
	if err := cg.Create(allLimits); err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	if err := cg.LimitPids(allLimits.PidsLimit); err != nil {
		return fmt.Errorf("pids limit %s: %w", id, err)
	}
	mem := "memory.limit_in_bytes"
	if cg.dirs["memory"] == cg.v2 {
		mem = "memory.max"
	}
	for ctrl, want := range map[string]string{"memory": "67108864", "pids": "10", "cpuset": "0"} {
		file := map[string]string{"memory": mem, "pids": "pids.max", "cpuset": "cpuset.cpus"}[ctrl]
		got, err := os.ReadFile(filepath.Join(cg.dirs[ctrl], file))
		if err != nil || strings.TrimSpace(string(got)) != want {
			return fmt.Errorf("%s of %s: %q, %v; want %s", file, id, got, err, want)
		}
	}
	if err := cg.Destroy(); err != nil {
		return fmt.Errorf("destroy %s: %w", id, err)
	}
	for ctrl, dir := range cg.dirs {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s cgroup %s left behind", ctrl, dir)
		}
	}
	return nil
}

// removeTestParents cleans up after a failed test.
func removeTestParents(parent string) {
	for _, dir := range parentDirs(parent) {
		_ = os.Remove(dir)
	}
}

// TestCgroupParentInUseStays: removing one container keeps the parent
// another container's cgroup is in; removing the last one takes it.
func TestCgroupParentInUseStays(t *testing.T) {
	requireCgroups(t)
	parent := testParent(t)
	t.Cleanup(func() { removeTestParents(parent) })
	a, b := CgroupFor(parent, "a"), CgroupFor(parent, "b")
	if err := a.Create(allLimits); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(allLimits); err != nil {
		t.Fatal(err)
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, "removed container", a.Paths())
	assertThere(t, "the other container", b.Paths())
	assertThere(t, "in-use parent", parentDirs(parent))
	// A removal from another process (no record of what was made) and a
	// second removal keep it too.
	if err := CgroupFor(parent, "a").Destroy(); err != nil {
		t.Fatal(err)
	}
	assertThere(t, "in-use parent", parentDirs(parent))
	if err := b.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, "parent", parentDirs(parent))
}

// TestCgroupForeignParentStays: a parent directory that is not berth's
// (a user's, made before) outlives the containers berth put in it; a
// berth parent inside it goes, the user's directory stays.
func TestCgroupForeignParentStays(t *testing.T) {
	requireCgroups(t)
	user := "cgtest-user-" + randomID(t)[:12]
	users := parentDirs(user)
	for _, dir := range users {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { removeTestParents(user + "/berth"); removeTestParents(user) })
	for _, parent := range []string{user, user + "/berth"} {
		cg := CgroupFor(parent, "c")
		if err := cg.Create(allLimits); err != nil {
			t.Fatal(err)
		}
		if err := cg.Destroy(); err != nil {
			t.Fatal(err)
		}
		assertGone(t, "container", cg.Paths())
	}
	assertGone(t, "berth parent in the user's", parentDirs(user+"/berth"))
	assertThere(t, "user's parent", users)
}

// TestCgroupRemoveParentsScheme: the walk removes empty berth-named
// parents only, stops at a parent in use or of another name, and never
// touches the hierarchy's root (plain directories stand in for cgroups:
// rmdir's answers are the same).
func TestCgroupRemoveParentsScheme(t *testing.T) {
	root := filepath.Join(t.TempDir(), "berth") // a root named like a parent
	mk := func(p string) string {
		d := filepath.Join(root, p)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	exists := func(p string) bool { _, err := os.Stat(filepath.Join(root, p)); return err == nil }

	mk("berth")
	removeParents(filepath.Join(root, "berth", "gone-id"), root)
	if exists("berth") || !exists("") {
		t.Errorf("empty berth parent: gone %v, root kept %v", !exists("berth"), exists(""))
	}

	mk("berth-a/berth/busy-id")
	removeParents(filepath.Join(root, "berth-a", "berth", "gone-id"), root)
	if !exists("berth-a/berth/busy-id") {
		t.Error("a parent in use was removed")
	}

	mk("mine/berth")
	removeParents(filepath.Join(root, "mine", "berth", "gone-id"), root)
	if exists("mine/berth") || !exists("mine") {
		t.Errorf("under a user's parent: berth gone %v, user's kept %v", !exists("mine/berth"), exists("mine"))
	}

	// Only directories under root: a path outside is left alone.
	outside := filepath.Join(t.TempDir(), "berth")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	removeParents(filepath.Join(outside, "id"), root)
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a directory outside the hierarchy was removed: %v", err)
	}
}

// TestCgroupMakeRecreatesParents: a container's cgroup whose parents are
// gone (the last container removed them) is made with them.
func TestCgroupMakeRecreatesParents(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "berth-x", "berth", "id")
	if err := makeCgroup(dir, root, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	if err := makeCgroup(dir, root, nil); err != nil {
		t.Errorf("an existing cgroup: %v", err)
	}
	// A root that does not exist is an error after the bounded retries.
	if err := makeCgroup(filepath.Join(root, "nope", "id"), filepath.Join(root, "nope"), nil); err == nil {
		t.Error("a cgroup under a missing hierarchy root was made")
	}
}

// TestCgroupParentRemovedDuringCreate: the last container's removal takes
// the parent away after Create made it and before the container's own
// directory: Create makes the parent again, with what a parent needs (v2
// controllers, v1 cpuset CPUs and memory nodes), and the limits land.
func TestCgroupParentRemovedDuringCreate(t *testing.T) {
	requireCgroups(t)
	parent := testParent(t)
	t.Cleanup(func() { removeTestParents(parent) })
	removed := map[string]bool{}
	testHookParentsMade = func(dir string) {
		p := filepath.Dir(dir)
		// Once per hierarchy, as soon as the parent exists.
		if !removed[p] && os.Remove(p) == nil {
			removed[p] = true
		}
	}
	defer func() { testHookParentsMade = nil }()
	if err := createCheckDestroy(parent, "raced"); err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(parentDirs(parent)) {
		t.Fatalf("parents taken away: %v; want one in every hierarchy %v", removed, parentDirs(parent))
	}
	assertGone(t, "parent", parentDirs(parent))
}

// TestCgroupStaleParentCleared: an empty berth parent in a hierarchy the
// container did not use (left by an older berth, or one killed before
// its cleanup) goes with the next container's removal.
func TestCgroupStaleParentCleared(t *testing.T) {
	requireCgroups(t)
	parent := testParent(t)
	t.Cleanup(func() { removeTestParents(parent) })
	stale := parentDirs(parent)
	for _, dir := range stale {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatal(err)
		}
	}
	cg := CgroupFor(parent, "plain")
	if err := cg.Create(Resources{}); err != nil { // the freezer cgroup only
		t.Fatal(err)
	}
	if len(cg.made) != 1 {
		t.Fatalf("made %v, want the freezer cgroup only", cg.made)
	}
	if err := cg.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, "stale parent", stale)
}

// BenchmarkCgroupCreateDestroy: one container's cgroup made and removed
// (no limits: the freezer cgroup only), as every run --rm does. "last"
// is the only container of its parent, which goes and comes back every
// time; "sibling" shares the parent with a container that keeps it.
func BenchmarkCgroupCreateDestroy(b *testing.B) {
	testenv.RequireRoot(b)
	for _, name := range []string{"last", "sibling"} {
		b.Run(name, func(b *testing.B) {
			parent := "berth-bench-" + randomID(b)[:12]
			defer removeTestParents(parent)
			if name == "sibling" {
				keep := CgroupFor(parent, "keep")
				if err := keep.Create(Resources{}); err != nil {
					b.Fatal(err)
				}
				defer keep.Destroy()
			}
			for i := 0; b.Loop(); i++ {
				cg := CgroupFor(parent, fmt.Sprint(i))
				if err := cg.Create(Resources{}); err != nil {
					b.Fatal(err)
				}
				if err := cg.Destroy(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCgroupRootlessParentBelowDelegation: in rootless mode containers
// live in <delegated>/berth/<id>; the berth parent goes with the last,
// the delegated directory stays, even with a name of berth's scheme.
func TestCgroupRootlessParentBelowDelegation(t *testing.T) {
	requireCgroups(t)
	top := filepath.Join(cgroups().v2Root, testParent(t))
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(filepath.Join(top, "berth")); _ = os.Remove(top) })
	cg := func(id string) *Cgroup {
		dir := filepath.Join(top, "berth", id)
		return &Cgroup{dirs: map[string]string{"freezer": dir}, v2: dir, v2Top: top}
	}
	a, b := cg("a"), cg("b")
	for _, c := range []*Cgroup{a, b} {
		if err := c.Create(Resources{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertThere(t, "in-use parent", map[string]string{"freezer": filepath.Join(top, "berth")})
	if err := b.Destroy(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, "parent", map[string]string{"freezer": filepath.Join(top, "berth")})
	assertThere(t, "delegated directory", map[string]string{"freezer": top})
}

// TestCgroupKeptParentsGoAtTheEnd: a container started with
// KeepCgroupParents (a build's step) leaves its parent when Wait removes
// its cgroup, so the next step need not make it again; RemoveCgroupParents
// takes it afterwards, and leaves one that a container is still in.
func TestCgroupKeptParentsGoAtTheEnd(t *testing.T) {
	requireCgroups(t)
	spec := newSpec(t, "true")
	spec.CgroupParent = testParent(t)
	spec.KeepCgroupParents = true
	t.Cleanup(func() { removeTestParents(spec.CgroupParent) })
	runToExit(t, spec)
	assertGone(t, "step container", CgroupFor(spec.CgroupParent, spec.ID).Paths())
	kept := map[string]string{"freezer": filepath.Dir(CgroupFor(spec.CgroupParent, spec.ID).dirs["freezer"])}
	assertThere(t, "kept parent", kept)

	other := CgroupFor(spec.CgroupParent, "other")
	if err := other.Create(Resources{}); err != nil {
		t.Fatal(err)
	}
	RemoveCgroupParents(spec.CgroupParent)
	assertThere(t, "parent in use", kept)
	if err := other.destroy(false); err != nil {
		t.Fatal(err)
	}
	assertThere(t, "parent kept by destroy(false)", kept)
	RemoveCgroupParents(spec.CgroupParent)
	assertGone(t, "parent", parentDirs(spec.CgroupParent))
}

// TestCgroupParentsGoWithoutKeep: the same container started without
// KeepCgroupParents takes its parent along at the exit, as before.
func TestCgroupParentsGoWithoutKeep(t *testing.T) {
	requireCgroups(t)
	spec := newSpec(t, "true")
	spec.CgroupParent = testParent(t)
	t.Cleanup(func() { removeTestParents(spec.CgroupParent) })
	runToExit(t, spec)
	assertGone(t, "parent", parentDirs(spec.CgroupParent))
}

// runToExit starts spec's container and waits for it to exit with 0.
func runToExit(t *testing.T, spec *Spec) {
	t.Helper()
	c, err := Start(spec, IO{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("wait: %+v %v", st, err)
	}
}
