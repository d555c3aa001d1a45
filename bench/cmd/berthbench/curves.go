//go:build linux

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// `berthbench curves`: how each cost grows with the size of its input,
// drawn as log-log SVG plots (docs/perf/*.svg). Berth only: the point is
// the shape of each curve, not a comparison.

type curveEnv struct {
	berth, dir string
	runs       int
	log        io.Writer
	timeBin    string // GNU time, for peak RSS ("" when missing)
}

// curve is one measured line: a name and its points.
type curve struct {
	id, title, xlabel string
	series            []Series
}

func runCurves(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berthbench curves", flag.ContinueOnError)
	fs.SetOutput(stderr)
	berth := fs.String("berth", "bin/berth", "the berth binary to measure")
	// Inside the bench directory, so on its scratch file system when
	// scripts/bench.sh mounted one (scratch.go).
	defaultDir := filepath.Join(envOr("BENCH_DIR", "/var/tmp/berth-bench"), "curves")
	dir := fs.String("dir", defaultDir, "scratch directory (removed afterwards)")
	out := fs.String("out", "docs/perf", "where the SVG plots and curves.json go")
	only := fs.String("only", "", "comma-separated curves: steps, env, store, commit, cache, prune (default all)")
	big := fs.Bool("big", false, "add the largest sizes (1,000 RUN steps, 5,000 ENV lines, 1,000,000 files, 10,000 dangling images): minutes each")
	runs := fs.Int("runs", 3, "timed runs per point (the median is plotted)")
	doc := fs.String("doc", "", "also replace the curves' table in this Markdown file (between curves markers)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	abs, err := filepath.Abs(*berth)
	if err == nil {
		err = os.MkdirAll(*out, 0o755)
	}
	if err != nil {
		fmt.Fprintln(stderr, "berthbench:", err)
		return 1
	}
	e := &curveEnv{berth: abs, dir: *dir, runs: *runs, log: stderr}
	if p, err := exec.LookPath("/usr/bin/time"); err == nil {
		e.timeBin = p
	}
	defer func() {
		_ = os.RemoveAll(e.dir)
		if *dir == defaultDir {
			_ = os.Remove(filepath.Dir(e.dir)) // the bench directory when empty (a mount point stays)
		}
	}()
	want := func(id string) bool { return *only == "" || strings.Contains(","+*only+",", ","+id+",") }
	var curves []curve
	for _, c := range []struct {
		id string
		fn func(big bool) (curve, error)
	}{{"cache", e.cacheCurve}, {"steps", e.stepsCurve}, {"env", e.envCurve}, {"store", e.storeCurve}, {"commit", e.commitCurve}, {"prune", e.pruneCurve}} {
		if !want(c.id) {
			continue
		}
		cv, err := c.fn(*big)
		if err != nil {
			fmt.Fprintf(stderr, "berthbench: curve %s: %v\n", c.id, err)
			return 1
		}
		if err := writePlot(*out, cv); err != nil {
			fmt.Fprintln(stderr, "berthbench:", err)
			return 1
		}
		curves = append(curves, cv)
	}
	disk, why := storesFS(e.dir)
	if why != "" {
		disk += " (" + why + ")"
	}
	var table strings.Builder
	printCurves(&table, disk, curves)
	fmt.Fprint(stdout, table.String())
	err = saveCurves(filepath.Join(*out, "curves.json"), disk, curves)
	if err == nil && *doc != "" {
		err = replaceBetween(*doc, curvesStart, curvesEnd, table.String())
	}
	if err != nil {
		fmt.Fprintln(stderr, "berthbench:", err)
		return 1
	}
	return 0
}

// Markers around the curves' generated table in docs/performance.md.
const (
	curvesStart = "<!-- curves:start -->"
	curvesEnd   = "<!-- curves:end -->"
)

func writePlot(dir string, c curve) error {
	f, err := os.Create(filepath.Join(dir, c.id+".svg"))
	if err != nil {
		return err
	}
	defer f.Close()
	return Plot{Title: c.title, XLabel: c.xlabel, YLabel: "time (median)", Series: c.series}.WriteSVG(f)
}

// saveCurves merges this run's curves into the JSON file, so curves
// measured by separate runs (-only) end up side by side.
func saveCurves(path, disk string, cs []curve) error {
	m := map[string]any{}
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &m)
	}
	for _, c := range cs {
		m[c.id] = map[string]any{"measured": time.Now().UTC().Format(time.RFC3339), "load": loadAvg(), "disk": disk, "series": c.series}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// printCurves writes the curves' table: each series' points, its growth
// exponent between the two largest sizes and fitted over all points (the
// goals judge the first), and its largest peak RSS; disk is the file system
// the stores were on.
func printCurves(w io.Writer, disk string, cs []curve) {
	fmt.Fprintf(w, "Measured %s, load average %s, stores on %s.\n\n| curve | series | points (N: median wall (median CPU)) | growth exponent, largest sizes | fitted, all points | peak RSS (largest) |\n|---|---|---|---:|---:|---:|\n",
		time.Now().UTC().Format(time.RFC3339), loadAvg(), disk)
	for _, c := range cs {
		for _, s := range c.series {
			var pts []string
			for i := range s.X {
				pt := fmt.Sprintf("%s: %s", humanCount(s.X[i]), fmtMs(s.Y[i]))
				if i < len(s.CPU) {
					pt += fmt.Sprintf(" (CPU %s)", fmtMs(s.CPU[i]))
				}
				pts = append(pts, pt)
			}
			var peak int64
			for _, k := range s.RSSKiB {
				peak = max(peak, k)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.2f | %.2f | %s |\n", c.id, s.Name, strings.Join(pts, ", "), lastExponent(s), logLogSlope(s), formatKiB(peak))
		}
	}
}

func fmtMs(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// --- running berth ---

func (e *curveEnv) root(name string) string { return filepath.Join(e.dir, name) }

func (e *curveEnv) cmd(root string, args ...string) *exec.Cmd {
	c := exec.Command(e.berth, args...)
	c.Env = append(os.Environ(), "BERTH_ROOT="+root)
	return c
}

func (e *curveEnv) do(root string, args ...string) error {
	out, err := e.cmd(root, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("berth %s: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return nil
}

// point is one measured size: median wall and CPU milliseconds, every
// timed run's wall milliseconds, and the warm-up's peak RSS in KiB (0
// without GNU time).
type point struct {
	ms, cpuMS float64
	times     []float64
	rss       int64
}

// job is one point to measure: setup (untimed, before every run), then
// berth args in the store at root.
type job struct {
	root  string
	setup func() error
	args  []string
}

// time measures one point (timeRounds).
func (e *curveEnv) time(root string, setup func() error, args ...string) (point, error) {
	ps, err := e.timeRounds([]job{{root, setup, args}})
	if err != nil {
		return point{}, err
	}
	return ps[0], nil
}

// timeRounds measures several points round by round: each is run once as
// a warm-up under GNU time, for the peak RSS, then every round runs each
// point that still needs runs once, bare, rotated (A B C, B C A, ...), so
// that slow drift of the machine falls on all points alike rather than on
// one side of the growth exponent between them. A point gets e.runs timed
// runs, shortRunCount when its first one is short (shortRuns). CPU is user
// plus system time of berth and the processes it waited for (wait4's
// rusage): berth leaves nothing running behind it.
func (e *curveEnv) timeRounds(jobs []job) ([]point, error) {
	ps := make([]point, len(jobs))
	cpu := make([][]float64, len(jobs))
	for i, j := range jobs {
		if err := runSetup(j.setup); err != nil {
			return nil, err
		}
		var err error
		if ps[i].rss, err = e.peakRSS(j.root, j.args...); err != nil {
			return nil, err
		}
	}
	for round := 0; ; round++ {
		ran := false
		for k := range jobs {
			i := (round + k) % len(jobs)
			if len(ps[i].times) >= shortRuns(e.runs, ps[i].times) {
				continue
			}
			wall, c, err := e.timeOnce(jobs[i])
			if err != nil {
				return nil, err
			}
			ps[i].times, cpu[i] = append(ps[i].times, wall), append(cpu[i], c)
			ran = true
		}
		if !ran {
			break
		}
	}
	for i := range ps {
		ps[i].ms, ps[i].cpuMS = summarize(ps[i].times).Median, summarize(cpu[i]).Median
	}
	return ps, nil
}

// addRounds times the points of a series round by round (timeRounds) and
// adds them, jobs[k] being the point at ns[k].
func (e *curveEnv) addRounds(s *Series, ns []int, jobs []job) error {
	pts, err := e.timeRounds(jobs)
	if err != nil {
		return err
	}
	for k, n := range ns {
		s.add(n, pts[k])
	}
	return nil
}

func runSetup(setup func() error) error {
	if setup == nil {
		return nil
	}
	return setup()
}

// timeOnce runs a job's setup, then its command, timed: wall and CPU
// milliseconds.
func (e *curveEnv) timeOnce(j job) (wall, cpu float64, err error) {
	if err := runSetup(j.setup); err != nil {
		return 0, 0, err
	}
	c := e.cmd(j.root, j.args...)
	start := time.Now()
	out, err := c.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("berth %s: %v: %s", strings.Join(j.args, " "), err, lastLines(string(out), 5))
	}
	return float64(elapsed.Microseconds()) / 1000, float64((c.ProcessState.UserTime() + c.ProcessState.SystemTime()).Microseconds()) / 1000, nil
}

// shortRunMS and shortRunCount: a point whose first timed run takes less
// than shortRunMS gets at least shortRunCount runs. The median of 3 runs of
// a 15 ms build moves by 2 to 3 ms between bench runs (an fsync's latency
// on the disk), more than the 0.10 exponent the flat cache curve allows
// between 300 and 1,000 entries (13%); 15 runs of it cost a quarter second.
const (
	shortRunMS    = 100
	shortRunCount = 15
)

// shortRuns is how many timed runs a point gets, given the runs so far:
// runs, or shortRunCount when the first one was short.
func shortRuns(runs int, ms []float64) int {
	if len(ms) > 0 && ms[0] < shortRunMS && runs < shortRunCount {
		return shortRunCount
	}
	return runs
}

// peakRSS runs berth args once under GNU time (see Cmd.RunRSS for why not
// wait4's own figure); without GNU time it runs them bare and returns 0.
func (e *curveEnv) peakRSS(root string, args ...string) (int64, error) {
	if e.timeBin == "" {
		return 0, e.do(root, args...)
	}
	scratch := filepath.Join(e.dir, "time-rss.txt")
	c := Cmd{Argv: append([]string{e.berth}, args...), Env: []string{"BERTH_ROOT=" + root}}
	out, err := c.RunRSS(context.Background(), e.timeBin, scratch)
	if err != nil {
		return 0, fmt.Errorf("berth %s: %w", strings.Join(args, " "), err)
	}
	return out.MaxRSSKiB, nil
}

// add appends one measured point to a series.
func (s *Series) add(n int, p point) {
	s.X, s.Y, s.RSSKiB = append(s.X, float64(n)), append(s.Y, p.ms), append(s.RSSKiB, p.rss)
	s.CPU = append(s.CPU, p.cpuMS)
	s.Times = append(s.Times, p.times)
}

// freshStore makes an empty store with busybox in it.
func (e *curveEnv) freshStore(name string) (string, error) {
	root := e.root(name)
	_ = e.cleanStore(root)
	if err := e.do(root, "bootstrap", "busybox"); err != nil {
		return "", err
	}
	return root, nil
}

// cleanStore removes a store, its containers first (they hold mounts).
func (e *curveEnv) cleanStore(root string) error {
	if _, err := os.Stat(root); err != nil {
		return nil
	}
	_ = e.cmd(root, "container", "prune", "-f").Run()
	return os.RemoveAll(root)
}

func writeDockerfile(dir, text string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(text), 0o644)
}

func sizes(base []int, big bool, extra int) []int {
	if big {
		return append(base, extra)
	}
	return base
}

// --- the curves ---

// The cache, steps and env curves time their sizes round by round; the
// store curve (one store seeded up size by size) and the commit curve
// (containers of up to 100,000 files, made one at a time) time one size
// after the other.

// cacheCurve: an uncached one-step build on busybox after N builds on the
// same parent. The store's cache index makes the miss's explanation one
// read (docs/performance.md); before it, the probe read all N entries.
// Each size has a store of its own, and the sizes are timed round by round
// (timeRounds): the goal is flat, so the last step compares two 15 ms
// medians that drift of the disk's latency would otherwise split apart.
func (e *curveEnv) cacheCurve(big bool) (curve, error) {
	s := Series{Name: "uncached 1-step build, N cache entries on its parent"}
	ns := sizes([]int{10, 300, 1000}, big, 3000)
	var jobs []job
	for _, n := range ns {
		root, err := e.freshStore(fmt.Sprintf("cache-%d", n))
		if err != nil {
			return curve{}, err
		}
		if err := e.seedCacheEntries(root, 0, n); err != nil {
			return curve{}, err
		}
		ctx := e.root(fmt.Sprintf("cache-ctx-%d", n))
		i := 0
		jobs = append(jobs, job{root: root, args: []string{"build", "-q", "--network", "host", ctx}, setup: func() error {
			i++
			return writeDockerfile(ctx, fmt.Sprintf("FROM busybox\nENV PROBE=%d-%d\n", n, i))
		}})
	}
	if err := e.addRounds(&s, ns, jobs); err != nil {
		return curve{}, err
	}
	return curve{id: "cache", title: "Uncached step vs cache entries on the same parent", xlabel: "cache entries on the parent (N)", series: []Series{s}}, nil
}

// seedCacheEntries records entries [from, to) on busybox through the store
// API, as N earlier builds of `ENV X=i` would have: each with an image of
// its own (a miss used to look every one of them up).
func (e *curveEnv) seedCacheEntries(root string, from, to int) error {
	s, err := store.Open(root)
	if err != nil {
		return err
	}
	defer s.Close()
	base, err := s.Image("busybox")
	if err != nil {
		return err
	}
	var entries []ocispec.Descriptor
	for i := from; i < to; i++ {
		desc, err := seedImage(s, base, i)
		if err != nil {
			return err
		}
		delete(desc.Annotations, ocispec.AnnotationRefName) // intermediate images are untagged
		desc.Annotations[store.AnnotationParent] = base.ID.String()
		entries = append(entries, desc)
		key := fmt.Sprintf("/bin/sh -c #(nop)  ENV X=%d", i)
		img := digest.Digest(desc.Annotations[store.AnnotationID])
		if err := s.CachePut(store.CacheEntry{Parent: base.ID, Key: key, Image: img, Original: fmt.Sprintf("ENV X=%d", i)}); err != nil {
			return err
		}
	}
	return s.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests = append(idx.Manifests, entries...)
		return nil
	})
}

// stepsCurve: a cold build of FROM busybox + N × RUN true.
func (e *curveEnv) stepsCurve(big bool) (curve, error) {
	s := Series{Name: "cold build, N × RUN true"}
	root, err := e.freshStore("steps")
	if err != nil {
		return curve{}, err
	}
	ns := sizes([]int{1, 10, 100}, big, 1000)
	var jobs []job
	for _, n := range ns {
		var b strings.Builder
		b.WriteString("FROM busybox\n")
		for i := range n {
			fmt.Fprintf(&b, "RUN true # %d\n", i)
		}
		ctx := e.root(fmt.Sprintf("steps-ctx-%d", n))
		if err := writeDockerfile(ctx, b.String()); err != nil {
			return curve{}, err
		}
		jobs = append(jobs, job{root: root, args: []string{"build", "-q", "--no-cache", "--network", "host", ctx}})
	}
	if err := e.addRounds(&s, ns, jobs); err != nil {
		return curve{}, err
	}
	return curve{id: "steps", title: "Cold build of N RUN steps", xlabel: "RUN steps (N)", series: []Series{s}}, nil
}

// envCurve: a cold build of FROM busybox + N ENV lines.
func (e *curveEnv) envCurve(big bool) (curve, error) {
	s := Series{Name: "cold build, N ENV lines"}
	root, err := e.freshStore("env")
	if err != nil {
		return curve{}, err
	}
	ns := sizes([]int{10, 100, 1000}, big, 5000)
	var jobs []job
	for _, n := range ns {
		var b strings.Builder
		b.WriteString("FROM busybox\n")
		for i := range n {
			fmt.Fprintf(&b, "ENV V%d=%d\n", i, i)
		}
		ctx := e.root(fmt.Sprintf("env-ctx-%d", n))
		if err := writeDockerfile(ctx, b.String()); err != nil {
			return curve{}, err
		}
		jobs = append(jobs, job{root: root, args: []string{"build", "-q", "--no-cache", ctx}})
	}
	if err := e.addRounds(&s, ns, jobs); err != nil {
		return curve{}, err
	}
	return curve{id: "env", title: "Cold build of a Dockerfile with N ENV lines", xlabel: "ENV lines (N)", series: []Series{s}}, nil
}

// storeCurve: `images`, `ps -a` and a fully cached 3-step build in a store
// holding N images and N containers, written through the store API.
func (e *curveEnv) storeCurve(big bool) (curve, error) {
	images := Series{Name: "images"}
	ps := Series{Name: "ps -a"}
	cached := Series{Name: "fully cached 3-step build"}
	root, err := e.freshStore("store")
	if err != nil {
		return curve{}, err
	}
	ctx := e.root("store-ctx")
	if err := writeDockerfile(ctx, "FROM busybox\nENV A=1\nLABEL b=2\nCMD [\"true\"]\n"); err != nil {
		return curve{}, err
	}
	if err := e.do(root, "build", "-q", ctx); err != nil {
		return curve{}, err
	}
	done := 0
	for _, n := range []int{10, 1000, 10000} {
		if err := seedStore(root, done, n); err != nil {
			return curve{}, err
		}
		done = n
		for _, m := range []struct {
			s    *Series
			args []string
		}{{&images, []string{"images"}}, {&ps, []string{"ps", "-a"}}, {&cached, []string{"build", "-q", ctx}}} {
			pt, err := e.time(root, nil, m.args...)
			if err != nil {
				return curve{}, err
			}
			m.s.add(n, pt)
		}
	}
	return curve{id: "store", title: "Listing and cached builds vs store size", xlabel: "images and containers in the store (N each)", series: []Series{images, ps, cached}}, nil
}

// seedStore adds images and stopped containers [from, to): each image a
// new config over busybox's layers, tagged seed:<i>, all listed in one
// index.json write (one PutImage each would rewrite the index N times).
func seedStore(root string, from, to int) error {
	s, err := store.Open(root)
	if err != nil {
		return err
	}
	defer s.Close()
	base, err := s.Image("busybox")
	if err != nil {
		return err
	}
	var entries []ocispec.Descriptor
	for i := from; i < to; i++ {
		desc, err := seedImage(s, base, i)
		if err != nil {
			return err
		}
		entries = append(entries, desc)
		c := &store.Container{
			ID: digest.FromString("seed container " + strconv.Itoa(i)).Encoded(), Name: fmt.Sprintf("seed_%d", i),
			Created: time.Now().UTC(), Image: base.ID.String(), ImageRef: "busybox", Purpose: "run",
			Config: store.ContainerConfig{Cmd: []string{"true"}},
		}
		c.State.Status = "exited"
		if err := s.PutContainer(c); err != nil {
			return err
		}
	}
	return s.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests = append(idx.Manifests, entries...)
		return nil
	})
}

func seedImage(s *store.Store, base *store.Image, i int) (ocispec.Descriptor, error) {
	cfg := base.Config
	cfg.Config.Labels = map[string]string{"seed": strconv.Itoa(i)}
	cfgData, err := json.Marshal(cfg)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	cfgDigest, err := s.PutBlobBytes(cfgData)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := base.Manifest
	m.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgDigest, Size: int64(len(cfgData))}
	desc, _, err := s.PutJSON(ocispec.MediaTypeImageManifest, m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc.Annotations = map[string]string{
		store.AnnotationID:        cfgDigest.String(),
		store.AnnotationSize:      base.Annotations[store.AnnotationSize],
		store.AnnotationCreated:   time.Now().UTC().Format(time.RFC3339Nano),
		ocispec.AnnotationRefName: fmt.Sprintf("docker.io/library/seed:%d", i),
	}
	return desc, nil
}

// pruneCurve: `image prune -f` of N dangling images, each a config of its
// own over busybox's layers (as a build step's throwaway image, without a
// layer of its own), seeded afresh before every run (the jobs' setup,
// untimed). Each size has a store of its own, timed round by round. It
// removed image by image, reading every image and rewriting index.json
// after each: quadratic, minutes at 3,206 images (docs/performance.md).
func (e *curveEnv) pruneCurve(big bool) (curve, error) {
	s := Series{Name: "image prune -f, N dangling images"}
	ns := sizes([]int{10, 100, 1000}, big, 10000)
	var jobs []job
	for _, n := range ns {
		root, err := e.freshStore(fmt.Sprintf("prune-%d", n))
		if err != nil {
			return curve{}, err
		}
		jobs = append(jobs, job{root: root, args: []string{"image", "prune", "-f"}, setup: func() error {
			return seedDangling(root, n)
		}})
	}
	if err := e.addRounds(&s, ns, jobs); err != nil {
		return curve{}, err
	}
	return curve{id: "prune", title: "Image prune vs dangling images", xlabel: "dangling images (N)", series: []Series{s}}, nil
}

// seedDangling lists n dangling images on busybox (untagged, busybox
// their parent, a config each), all in one index.json write. Seeding again
// lists the same images: those still listed (not pruned) are not listed
// twice.
func seedDangling(root string, n int) error {
	s, err := store.Open(root)
	if err != nil {
		return err
	}
	defer s.Close()
	base, err := s.Image("busybox")
	if err != nil {
		return err
	}
	var entries []ocispec.Descriptor
	for i := range n {
		desc, err := seedImage(s, base, i)
		if err != nil {
			return err
		}
		delete(desc.Annotations, ocispec.AnnotationRefName)
		desc.Annotations[store.AnnotationParent] = base.ID.String()
		entries = append(entries, desc)
	}
	return s.UpdateIndex(func(idx *ocispec.Index) error {
		listed := map[digest.Digest]bool{}
		for _, d := range idx.Manifests {
			listed[d.Digest] = true
		}
		for _, d := range entries {
			if !listed[d.Digest] {
				idx.Manifests = append(idx.Manifests, d)
			}
		}
		return nil
	})
}

// commitCurve: commit a container that created N empty files.
func (e *curveEnv) commitCurve(big bool) (curve, error) {
	s := Series{Name: "commit, N new files"}
	root, err := e.freshStore("commit")
	if err != nil {
		return curve{}, err
	}
	for _, n := range sizes([]int{1000, 10000, 100000}, big, 1000000) {
		name := fmt.Sprintf("files%d", n)
		script := fmt.Sprintf("mkdir /d && cd /d && seq %d | xargs touch", n)
		if err := e.do(root, "run", "--network", "host", "--name", name, "busybox", "sh", "-c", script); err != nil {
			return curve{}, err
		}
		pt, err := e.time(root, nil, "commit", name)
		if err != nil {
			return curve{}, err
		}
		_ = e.do(root, "rm", name)
		s.add(n, pt)
	}
	return curve{id: "commit", title: "Commit of a container with N new files", xlabel: "files (N)", series: []Series{s}}, nil
}
