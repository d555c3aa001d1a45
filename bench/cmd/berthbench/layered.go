//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Push and pull of a many-layer image, where moving layers in parallel
// counts (issue 18: ahead of skopeo by 2×): busybox plus layeredCount
// layers of layeredMiB MiB of random bytes each, pushed to an empty
// docker-registry (or the `registry serve` stand-in) and pulled from it
// into an empty store, next to skopeo copying the same image.

const (
	layeredImage = "bench/layers:1"
	layeredCount = 5
	layeredMiB   = 10
)

// layeredRuns is the timed runs of each tool in the push-layers and
// pull-layers cases. Their goals are ratios near their line: with 3 runs,
// skopeo's pull median moved from 165 to 255 ms between three runs of the
// same hour, turning the verdict either way. A run takes a quarter to half
// a second.
const layeredRuns = 9

// ensureLayeredImage builds the image once in the bench store.
func (e *Env) ensureLayeredImage() error {
	if e.do(e.berth("image", "inspect", layeredImage)) == nil {
		return nil
	}
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\n", baseBerth)
	for i := 1; i <= layeredCount; i++ {
		fmt.Fprintf(&df, "RUN head -c %d /dev/urandom > /layer%d\n", layeredMiB<<20, i)
	}
	dir := e.path("ctx", "layers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		return err
	}
	if err := e.do(e.berth("build", "-q", "--network", "host", "-t", layeredImage, dir)); err != nil {
		return fmt.Errorf("build the %d-layer image: %w", layeredCount+1, err)
	}
	return nil
}

// layeredCases are push-layers and pull-layers.
func (e *Env) layeredCases() ([]*Case, error) {
	if err := e.ensureLayeredImage(); err != nil {
		return nil, err
	}
	size, err := transferSize(e.berthRoot(), layeredImage)
	if err != nil {
		return nil, err
	}
	addr, err := e.registryAddr()
	if err != nil {
		return nil, err
	}
	repo := addr + "/" + layeredImage
	if err := e.do(e.berth("tag", layeredImage, repo)); err != nil {
		return nil, err
	}
	ref, err := layoutRef(e.berthRoot(), strings.TrimSuffix(layeredImage, ":1"))
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("a %d-layer image (busybox + %d × %d MiB random; %.1f MB)", layeredCount+1, layeredCount, layeredMiB, float64(size)/1e6)
	fresh := func() error { return e.freshRegistry() }
	push := &Case{
		ID: "push-layers", Title: "push " + what + " to an empty registry on 127.0.0.1",
		Warmup: 1, Runs: layeredRuns, Bytes: size,
		Teardown: func() error { e.stopRegistry(); return nil },
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berth("push", "-q", repo), Prepare: fresh,
				Note: "5 layers at a time (Docker's max-concurrent-uploads)."},
			{Tool: "skopeo", Skip: e.notInstalled("skopeo"), Prepare: fresh,
				Cmd:  e.skopeo("copy", "-q", "--dest-tls-verify=false", "oci:"+e.berthRoot()+":"+ref, "docker://"+repo),
				Note: "skopeo copy from Berth's store (an OCI layout): the same blobs."},
		},
	}
	pullRoot, skopeoDst := e.path("berth-pull-layers"), e.out("skopeo-pull-layers")
	pull := &Case{
		ID: "pull-layers", Title: "pull that image from the registry on 127.0.0.1 into an empty store",
		Warmup: 1, Runs: layeredRuns, Bytes: size,
		Setup: func() error {
			if err := e.freshRegistry(); err != nil {
				return err
			}
			return e.do(e.berth("push", "-q", repo))
		},
		Teardown: func() error {
			e.stopRegistry()
			os.RemoveAll(skopeoDst)
			return os.RemoveAll(pullRoot)
		},
		Subjects: []*Subject{
			{Tool: "berth", Cmd: e.berthAt(pullRoot, "pull", "-q", repo),
				Prepare: func() error { return os.RemoveAll(pullRoot) },
				Note:    "3 layers at a time (Docker's max-concurrent-downloads); every blob's digest and every layer's diff ID checked."},
			{Tool: "skopeo", Skip: e.notInstalled("skopeo"),
				Prepare: func() error { return os.RemoveAll(skopeoDst) },
				Cmd:     e.skopeo("copy", "-q", "--src-tls-verify=false", "docker://"+repo, "oci:"+skopeoDst+":layers"),
				Note:    "skopeo copy into an OCI layout directory: blob digests checked, layers not decompressed."},
		},
	}
	return []*Case{push, pull}, nil
}
