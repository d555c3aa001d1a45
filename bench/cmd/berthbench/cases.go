//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Names the cases give what they create.
const (
	srcContainer = "bench-src"
	commitImage  = "bench-commit"
	podmanCommit = "localhost/bench-commit:latest"
)

// runStepCounts are the N of the `RUN true` Dockerfiles whose cold build
// times give the per-step slope.
var runStepCounts = []int{1, 5, 10}

// workload is what the cases share.
type workload struct {
	ctxs    map[string]string // build contexts by name
	tree    string            // the commit tree on the host
	treeTar string            // the same tree as a tar, fed to the containers
	// podmanOK says Podman can run containers here (the commit source needs it).
	podmanOK bool
}

func (e *Env) runtimeCmd(rt string, extra ...string) Cmd {
	argv := []string{rt}
	argv = append(argv, extra...)
	argv = append(argv, "--root", filepath.Join(e.RunDir, rt), "run", "-b", e.bundle(), "berthbench-"+rt)
	return Cmd{Argv: argv}
}

func (e *Env) startCase() *Case {
	crun := &Subject{Tool: "crun", Cmd: e.runtimeCmd("crun"), Skip: e.notInstalled("crun"),
		Alternatives: []Alternative{{Cmd: e.runtimeCmd("crun", "--cgroup-manager=disabled"),
			Why: "timed with --cgroup-manager=disabled, which skips cgroups altogether;"}},
		Note: "OCI bundle: the same image's files in a plain directory (no overlay mount), host network namespace."}
	return &Case{
		ID: "start", Title: "container start to exit: `run --rm busybox true` (image in store, host network)",
		Warmup: 3, Runs: 20,
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berth("run", "--rm", "--network", "host", baseBerth, "true")},
			{Tool: "podman", Cmd: e.podman("run", "--rm", "--network", "host", "--pull=never", basePodman, "true"),
				Skip: e.notInstalled("podman"),
				Note: "conmon and the OCI runtime are not podman's children, so their memory is not in its peak RSS."},
			{Tool: "runc", Cmd: e.runtimeCmd("runc"), Skip: e.notInstalled("runc"),
				Note: "OCI bundle: the same image's files in a plain directory (no overlay mount), host network namespace."},
			crun,
			{Tool: "floor: unshare+chroot", Cmd: Cmd{Argv: []string{"unshare", "-m", "-p", "-f", "-u", "-i", "chroot", e.rootfs(), "/bin/true"}},
				Skip: e.notInstalled("unshare"),
				Note: "The floor: new mount, PID, UTS and IPC namespaces and an exec of /bin/true in the same rootfs; no runtime, no mounts."},
			{Tool: refBerthVersion, Cmd: e.berth("version"),
				Note: "Reference, no goal: the berth CLI's own start and exit, no store, no container (its Go runtime and package initializers)."},
			{Tool: refGoHello, Cmd: Cmd{Argv: []string{e.goHello()}}, Skip: e.goHelloSkip,
				Note: "Reference, no goal: a static Go program with an empty main, built here with the same toolchain: the least any Go process (berth, berth-init) costs to start on this machine."},
			{Tool: refCtrFloor, Cmd: Cmd{Argv: []string{e.ctrFloor(), e.rootfs(), e.ctrFloorTmp(), "/bin/true"}}, Skip: e.ctrFloorSkip,
				Note: "Reference, no goal: a static C program (bench/cmd/berthbench/cref/ctrfloor.c) doing only the kernel's share of a start with Docker's hardening: new namespaces, an overlay with a fresh upper directory, /proc, /dev, /sys, pivot_root, masked and read-only paths, the capability bounding set, exec. No cgroup, seccomp filter, record or log: what any runtime pays here."},
		},
	}
}

// The start case's reference lines: not goals, the costs of starting a Go
// process on the machine, so a reader can tell a slow machine from a slow
// runtime.
const (
	refBerthVersion = "reference: berth version"
	refGoHello      = "reference: Go, empty main"
	refCtrFloor     = "reference: hardened container in C"
)

// bridgeHost names start-bridge's host-network line.
const bridgeHost = "berth --network host"

// startBridgeCase times the same start on Berth's default bridge network
// and on the host's, alternated in one case, so their difference is what
// the bridge adds (issue 18: at most 8 ms).
func (e *Env) startBridgeCase() *Case {
	return &Case{
		ID: "start-bridge", Title: "container start to exit on the default bridge network: `run --rm busybox true`, next to the same start on the host network",
		Warmup: 3, Runs: 20,
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berth("run", "--rm", baseBerth, "true"),
				Note: "Berth's default network (docs/networking.md): a network namespace, a veth pair on the bridge, an address, hosts and resolv.conf for it; all of it removed at exit."},
			{Tool: bridgeHost, Cmd: e.berth("run", "--rm", "--network", "host", baseBerth, "true"),
				Note: "The host's network, alternated with the bridge line: the difference of the two medians is the bridge's cost."},
		},
	}
}

// buildCase times a cold or a fully cached build of one context. A cold
// run first removes the image tagged tag and those tagged siblings: the
// cases interleaved with it, whose Dockerfiles share its first steps.
func (e *Env) buildCase(id, title, ctxName, tag string, steps int, cold bool, w *workload, siblings ...string) *Case {
	dir := w.ctxs[ctxName]
	berth := &Subject{Tool: "berth", Cmd: e.berth("build", "--network", "host", "-q", "-t", tag, dir)}
	buildah := &Subject{Tool: "buildah", Skip: e.notInstalled("buildah"),
		Cmd: e.buildah("bud", "--layers", "--pull=never", "--network", "host", "-q", "-t", tag, dir)}
	c := &Case{ID: id, Title: title, Warmup: 1, Runs: 5, Subjects: []*Subject{berth, buildah}}
	tags := append([]string{tag}, siblings...)
	clear := cacheClear{
		berth: func() {
			for _, t := range tags {
				e.try(e.berth("rmi", t))
			}
		},
		buildah: func() {
			for _, t := range tags {
				e.try(e.buildah("rmi", "-f", t))
			}
		},
	}
	if cold {
		// Cold: the last build's images go before every run, so no step can
		// be cached; the base image stays.
		berth.Prepare = func() error { clear.berth(); return nil }
		buildah.Prepare = func() error { clear.buildah(); return nil }
	} else {
		c.Warmup, c.Runs = 2, 10
		clear = cacheClear{}
	}
	c.Teardown = func() error {
		e.verifyCache(id, dir, tag, steps, cold, clear)
		e.try(e.berth("rmi", tag))
		if e.has("buildah") {
			e.try(e.buildah("rmi", "-f", tag))
		}
		return nil
	}
	return c
}

// cacheClear removes, per tool, what a cold build must not find (nil
// fields for a cached build).
type cacheClear struct{ berth, buildah func() }

// verifyCache builds once more, verbosely, and checks that a cold build
// reused nothing and a cached one reused every step after FROM.
func (e *Env) verifyCache(id, dir, tag string, steps int, cold bool, clear cacheClear) {
	check := func(tool string, build Cmd, prepare func()) {
		if prepare != nil {
			prepare()
		}
		out, err := build.Output(e.ctx)
		if err != nil {
			e.note("%s/%s: verification build failed: %v", id, tool, err)
			return
		}
		hits := strings.Count(out, "Using cache")
		want := steps - 1
		if cold {
			want = 0
		}
		if hits != want {
			e.note("%s/%s: a verification build reused %d steps from the cache, not %d: this case is not what its label says", id, tool, hits, want)
		}
	}
	check("berth", e.berth("build", "--network", "host", "-t", tag, dir), clear.berth)
	if e.has("buildah") {
		check("buildah", e.buildah("bud", "--layers", "--pull=never", "--network", "host", "-t", tag, dir), clear.buildah)
	}
}

func (e *Env) buildCases(w *workload) []*Case {
	cases := []*Case{
		e.buildCase("build3-cold", "build, cold: 3 steps (FROM, RUN, CMD); base image in store, no cache", "build3", "bench3", 3, true, w),
		e.buildCase("build3-cached", "build, fully cached rebuild: 3 steps", "build3", "bench3", 3, false, w),
		e.buildCase("build10-cold", "build, cold: 10 steps (RUN, ENV, COPY, WORKDIR, CMD)", "build10", "bench10", 10, true, w),
		e.buildCase("build10-cached", "build, fully cached rebuild: 10 steps", "build10", "bench10", 10, false, w),
	}
	stepTag := func(n int) string { return fmt.Sprintf("benchstep%d", n) }
	for _, n := range runStepCounts {
		// Interleaved (measureAll), and runstep10's first step is
		// runstep1's: each cold run removes all three images.
		var siblings []string
		for _, m := range runStepCounts {
			if m != n {
				siblings = append(siblings, stepTag(m))
			}
		}
		c := e.buildCase(fmt.Sprintf("runstep%d", n), fmt.Sprintf("build, cold: FROM + %d × `RUN true`", n),
			fmt.Sprintf("runstep%d", n), stepTag(n), n+1, true, w, siblings...)
		c.Runs = runStepRuns
		for _, s := range c.Subjects {
			if s.Tool == "buildah" {
				s.Runs = runStepPeerRuns
			}
		}
		c.Subjects = append(c.Subjects, e.ctrFloorSteps(n))
		cases = append(cases, c)
	}
	return cases
}

// ctrFloorSteps is the runstep cases' C reference: n hardened containers
// one after the other, each on the earlier ones' upper directories, each
// running the step's `/bin/sh -c true`; their directories stay, as a
// build's layers do, and go before the next run, untimed.
func (e *Env) ctrFloorSteps(n int) *Subject {
	return &Subject{Tool: refCtrFloor, Skip: e.ctrFloorSkip,
		Cmd: Cmd{Argv: []string{e.ctrFloor(), "-n", strconv.Itoa(n), "-k", e.rootfs(), e.ctrFloorTmp(), "/bin/sh", "-c", "true"}},
		Prepare: func() error {
			if err := os.RemoveAll(e.ctrFloorTmp()); err != nil {
				return err
			}
			return os.Mkdir(e.ctrFloorTmp(), 0o755)
		},
		Note: "Reference, no goal: the start case's C program (cref/ctrfloor.c) running N hardened containers one after the other, each on an overlay of the earlier ones' upper directories, each running `/bin/sh -c true` as a RUN step does; no image, layer or record is written. What N such containers cost the kernel here, whatever the builder."}
}

// runStepRuns is Berth's timed runs of each runstep case, which measureAll
// interleaves round by round. The per-RUN-step overhead is the difference
// of two medians over 9, so a millisecond of noise in either median moves
// it by a ninth of a millisecond per step, and its goal (4 ms) is judged
// against figures of 7 to 8 ms that moved by 1.2 ms between runs of the
// same code. 15 runs, as the curves' short points get: in two runs at load
// 6 the 95% interval of the per-step figure was 4.6 and 14 ms wide with 15
// runs against 5.6 and 39 ms with their first 3. With the siblings' rmi
// before every cold run, the three cases took about 15 s more than before
// (docs/performance.md, Verdicts near the line).
const runStepRuns = 15

// runStepPeerRuns keeps Buildah at the 3 runs it had: a round of its three
// builds takes about 4 s, and its slope is judged by no goal.
const runStepPeerRuns = 3

// ensureCommitSource makes, once, a stopped container per engine that has
// written the commit tree (tar extracted inside the container from stdin).
func (e *Env) ensureCommitSource(w *workload) error {
	if _, err := os.Stat(e.path("src-made")); err == nil {
		return nil
	}
	run := e.berth("run", "-i", "--name", srcContainer, baseBerth, "tar", "-x", "-C", "/", "-f", "-")
	run.Stdin = w.treeTar
	if err := e.do(run); err != nil {
		return fmt.Errorf("berth container that writes the tree: %w", err)
	}
	if w.podmanOK {
		prun := e.podman("run", "-i", "--name", srcContainer, "--network", "host", "--pull=never", basePodman, "tar", "-x", "-C", "/", "-f", "-")
		prun.Stdin = w.treeTar
		if err := e.do(prun); err != nil {
			w.podmanOK = false
			e.note("podman container that writes the tree failed: %v", err)
		}
	}
	return os.WriteFile(e.path("src-made"), nil, 0o644)
}

// ensureCommitImages commits the source containers once, for save, load,
// push and pull.
func (e *Env) ensureCommitImages(w *workload) error {
	if err := e.ensureCommitSource(w); err != nil {
		return err
	}
	if err := e.do(e.berth("image", "inspect", commitImage)); err != nil {
		if err := e.do(e.berth("commit", srcContainer, commitImage)); err != nil {
			return err
		}
	}
	if w.podmanOK {
		if err := e.do(e.podman("image", "exists", podmanCommit)); err != nil {
			if err := e.do(e.podman("commit", "-q", srcContainer, commitImage)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Env) pipeline(name, compress, ext string, w *workload) *Subject {
	out := e.out("pipeline." + ext)
	tool := strings.Fields(compress)[0]
	return &Subject{Tool: "tar | " + compress,
		Cmd:     e.sh(fmt.Sprintf("tar -C %s -cf - . | %s > %s", w.tree, compress, out)),
		Cleanup: func() error { return os.RemoveAll(out) },
		Skip:    e.notInstalled(tool),
		Note:    name,
	}
}

func (e *Env) commitCase(w *workload) *Case {
	podman := &Subject{Tool: "podman", Cmd: e.podman("commit", "-q", srcContainer, commitImage),
		Cleanup: func() error { return e.do(e.podman("rmi", podmanCommit)) },
		Note:    "Podman stores the new layer uncompressed in its storage (it compresses on push)."}
	if !e.has("podman") {
		podman.Skip = e.notInstalled("podman")
	} else if !w.podmanOK {
		podman.Skip = "podman cannot run containers here (see the notes)"
	}
	return &Case{
		ID: "commit", Title: fmt.Sprintf("commit a container that wrote %d MiB of random data + %d small files (page cache warm)", randomMiB, smallFiles),
		Warmup: 1, Runs: 5,
		Setup: func() error { return e.ensureCommitSource(w) },
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berth("commit", srcContainer, commitImage),
				Cleanup: func() error { return e.do(e.berth("rmi", commitImage)) },
				Note:    "Stores the layer gzip-compressed at commit time (Berth's choice; docs/layers.md)."},
			podman,
			e.pipeline("single-threaded gzip -1 of the same tree", "gzip -1", "tar.gz", w),
			e.pipeline("the floor for a gzip layer: parallel gzip -1 on all cores", "pigz -1", "tar.gz", w),
			e.pipeline("zstd -3, one thread (zstd's default)", "zstd -3 -q", "tar.zst", w),
			e.pipeline("zstd -3 on all cores", "zstd -3 -T0 -q", "tar.zst", w),
		},
	}
}

func (e *Env) saveLoadCases(w *workload) []*Case {
	podmanSkip := func() string {
		if !e.has("podman") {
			return e.notInstalled("podman")
		}
		if !w.podmanOK {
			return "podman cannot run containers here (see the notes)"
		}
		return ""
	}
	berthTar, podmanTar := e.out("berth-save.tar"), e.out("podman-save.tar")
	save := &Case{
		ID: "save", Title: "save the committed image to a tar file",
		Warmup: 1, Runs: 5,
		Setup: func() error { return e.ensureCommitImages(w) },
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berth("save", "-o", berthTar, commitImage),
				Cleanup: func() error { return os.RemoveAll(berthTar) },
				Note:    "Docker archive + OCI layout in one tar, layers as stored (gzip)."},
			{Tool: "podman", Cmd: e.podman("save", "-o", podmanTar, podmanCommit), Skip: podmanSkip(),
				Cleanup: func() error { return os.RemoveAll(podmanTar) },
				Note:    "docker-archive (Podman's default), layers uncompressed."},
		},
	}
	loadRoot := e.path("berth-load")
	load := &Case{
		ID: "load", Title: "load that tar into an empty store",
		Warmup: 1, Runs: 5,
		Setup: func() error {
			if err := e.ensureCommitImages(w); err != nil {
				return err
			}
			if err := e.do(e.berth("save", "-o", berthTar, commitImage)); err != nil {
				return err
			}
			if podmanSkip() == "" {
				return e.do(e.podman("save", "-o", podmanTar, podmanCommit))
			}
			return nil
		},
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berthAt(loadRoot, "load", "-q", "-i", berthTar),
				Prepare: func() error { return os.RemoveAll(loadRoot) },
				Note:    "Includes unpacking the layers for use (overlay lower dirs)."},
			{Tool: "podman", Cmd: e.podmanAt("load", "load", "-q", "-i", podmanTar), Skip: podmanSkip(),
				Prepare: func() error { e.try(e.podmanAt("load", "rmi", "-a", "-f")); return nil },
				Note:    "Includes unpacking the layers into overlay storage."},
		},
		Teardown: func() error {
			e.try(e.podmanAt("load", "rmi", "-a", "-f"))
			return os.RemoveAll(loadRoot)
		},
	}
	return []*Case{save, load}
}

// registryCases needs the committed images (ensureCommitImages) and the
// berth image's name in the store's OCI layout, which is skopeo's source.
func (e *Env) registryCases(w *workload) ([]*Case, error) {
	addr, err := e.registryAddr()
	if err != nil {
		return nil, err
	}
	repo := addr + "/bench/commit:latest"
	podmanSkip := ""
	if !e.has("podman") {
		podmanSkip = e.notInstalled("podman")
	} else if !w.podmanOK {
		podmanSkip = "podman cannot run containers here (see the notes)"
	}
	if err := e.ensureCommitImages(w); err != nil {
		return nil, err
	}
	if err := e.do(e.berth("tag", commitImage, repo)); err != nil {
		return nil, err
	}
	ref, err := layoutRef(e.berthRoot(), commitImage)
	if err != nil {
		return nil, err
	}
	fresh := func() error { return e.freshRegistry() }
	push := &Case{
		ID: "push", Title: "push the committed image to a registry on 127.0.0.1 (empty registry each run)",
		Warmup: 1, Runs: 3,
		Teardown: func() error { e.stopRegistry(); return nil },
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berth("push", "-q", repo), Prepare: fresh, Note: "Pushes the stored gzip blobs as they are."},
			{Tool: "skopeo", Skip: e.notInstalled("skopeo"), Prepare: fresh,
				Cmd:  e.skopeo("copy", "-q", "--dest-tls-verify=false", "oci:"+e.berthRoot()+":"+ref, "docker://"+repo),
				Note: "skopeo copy from Berth's store (an OCI layout) to the registry: the same blobs, no recompression."},
			{Tool: "podman", Skip: podmanSkip, Prepare: fresh,
				Cmd:  e.podman("push", "-q", "--tls-verify=false", podmanCommit, "docker://"+repo),
				Note: "Podman compresses its uncompressed layers while pushing."},
		},
	}

	pullRoot := e.path("berth-pull")
	skopeoDst := e.out("skopeo-pull")
	pullSubjects := func(fromEmpty bool) []*Subject {
		s := []*Subject{
			{Tool: "berth", Cmd: e.berthAt(pullRoot, "pull", "-q", repo), Note: "Decompresses every layer to check its diff ID and tar entries; unpacking waits for the first run."},
			{Tool: "skopeo", Skip: e.notInstalled("skopeo"),
				Cmd:  e.skopeo("copy", "-q", "--src-tls-verify=false", "docker://"+repo, "oci:"+skopeoDst+":commit"),
				Note: "skopeo copy into an OCI layout directory: blobs only, nothing unpacked."},
			{Tool: "podman", Skip: podmanSkip, Cmd: e.podmanAt("pull", "pull", "-q", "--tls-verify=false", repo),
				Note: "Includes unpacking the layers into overlay storage."},
		}
		if !fromEmpty {
			s[0].Note = "Finds the manifest unchanged and every layer present: prints Image is up to date."
			s[1].Note = "skopeo copy into the same OCI layout directory: it finds every blob there and copies none."
			s[2].Note = "Finds the image present and every layer stored."
		}
		if fromEmpty {
			s[0].Prepare = func() error { return os.RemoveAll(pullRoot) }
			s[1].Prepare = func() error { return os.RemoveAll(skopeoDst) }
			s[2].Prepare = func() error { e.try(e.podmanAt("pull", "rmi", "-a", "-f")); return nil }
		}
		return s
	}
	pullSetup := func() error {
		if err := e.freshRegistry(); err != nil {
			return err
		}
		return e.do(e.berth("push", "-q", repo))
	}
	pull := &Case{
		ID: "pull", Title: "pull that image from the registry on 127.0.0.1 into an empty store",
		Warmup: 1, Runs: 3, Setup: pullSetup, Subjects: pullSubjects(true),
	}
	again := &Case{
		ID: "pull-uptodate", Title: "pull again, image unchanged (already in the store)",
		Warmup: 2, Runs: 10, Subjects: pullSubjects(false),
		Teardown: func() error {
			e.stopRegistry()
			e.try(e.podmanAt("pull", "rmi", "-a", "-f"))
			os.RemoveAll(skopeoDst)
			return os.RemoveAll(pullRoot)
		},
	}
	return []*Case{push, pull, again}, nil
}
