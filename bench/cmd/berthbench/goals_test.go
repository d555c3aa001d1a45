//go:build linux

package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
	"golang.org/x/sys/unix"
)

func res(caseID, tool string, median float64) *Result {
	return &Result{Case: caseID, Title: caseID, Tool: tool, Median: ptr(median)}
}

// goalByName finds a goal whose name starts with prefix.
func goalByName(t *testing.T, gs []Goal, prefix string) Goal {
	t.Helper()
	for _, g := range gs {
		if strings.HasPrefix(g.Goal, prefix) {
			return g
		}
	}
	t.Fatalf("no goal %q in %+v", prefix, gs)
	return Goal{}
}

func TestGoalsJudgeEachTarget(t *testing.T) {
	standIn := res("commit-real", "berth --compression gzip", 1.1)
	standIn.Title = "commit a stand-in for the Debian layer"
	start := res("start", "berth", 0.006)
	start.PeakRSS = 20 << 10
	r := &Report{Date: "2026-12-03T10:00:00Z", Results: []*Result{
		start, res("start", "floor: unshare+chroot", 0.003),
		res("start-bridge-added", "berth", 0.009),
		res("runstep1", "berth", 0.030), res("runstep5", "berth", 0.046), res("runstep10", "berth", 0.0615),
		{Case: "runstep-slope", Tool: "berth", Unit: "s/step", Median: ptr(0.0035)},
		standIn, res("commit-real", "tar | pigz -1", 1.0),
		res("commit-real", "berth --compression zstd", 1.3),
		{Case: "commit-real", Tool: "tar | zstd -3 -T0 -q", DidNotRun: "zstd is not installed"},
		res("room", "berth", 4), res("room", "docker-registry", 6),
		res("push-layers", "berth", 1), res("push-layers", "skopeo", 1.5),
	}}
	curves := map[string]curveData{
		"steps": {Measured: "2026-12-03T10:10:00Z", Series: []Series{{Name: "cold build", X: []float64{1, 10, 100}, Y: []float64{20, 100, 1000}, RSSKiB: []int64{20 << 10, 21 << 10, 40 << 10}}}},
		"env":   {Measured: "2026-12-03T10:10:00Z", Series: []Series{{Name: "ENV lines", X: []float64{10, 100, 1000}, Y: []float64{10, 100, 10000}}}},
		// Linear would pass other curves; the cache curve must be flat.
		"cache": {Measured: "2026-12-03T10:10:00Z", Series: []Series{{Name: "uncached step", X: []float64{10, 300, 1000}, Y: []float64{16, 24, 35}}}},
		// Image by image, prune grew with the square of the images.
		"prune": {Measured: "2026-12-03T10:10:00Z", Series: []Series{{Name: "image prune -f, N dangling images", X: []float64{10, 100, 1000}, Y: []float64{40, 400, 30000}}}},
	}
	gs := r.Goals(curves)
	for prefix, want := range map[string]string{
		"start:":                          "met",
		"the bridge's added cost":         "not met",
		"per-RUN-step overhead":           "met",
		"commit-real, --compression gzip": "met (on the stand-in layer, not the apt layer)",
		"commit-real, --compression zstd": "not measured: no tar | zstd -3 -T0 -q figure in commit-real: zstd is not installed",
		"growth: steps":                   "met",
		"growth: env":                     "not met",
		"growth: cache":                   "not met",
		"growth: prune":                   "not met",
		"peak RSS":                        "not met: steps/cold build N=100 40.0 MiB",
		"room:":                           "met",
		"push of the 6-layer image":       "not met",
		"pull of the 6-layer image":       "not measured: pull-layers did not run",
	} {
		if g := goalByName(t, gs, prefix); g.Verdict != want {
			t.Errorf("%s: verdict %q, want %q (%+v)", prefix, g.Verdict, want, g)
		}
	}
	wantFigures(t, gs, map[string]string{
		"start:":                  "2.00× (berth 6.0 ms, floor: unshare+chroot 3.0 ms)",
		"the bridge's added cost": "9.0 ms",
		"per-RUN-step overhead":   "3.5 ms/step (least-squares slope over N = 1, 5, 10: 3.5 ms/step)",
		"room:":                   "1.50× (docker-registry 6.00 s, berth 4.00 s)",
		"growth: steps":           "1.00 (10 → 100); 0.85 fitted over all 3 points",
		"peak RSS":                "largest 40.0 MiB (steps/cold build N=100), of 4 measured",
	})
}

// wantFigures checks the figure of each goal named by its prefix.
func wantFigures(t *testing.T, gs []Goal, want map[string]string) {
	t.Helper()
	for prefix, fig := range want {
		if g := goalByName(t, gs, prefix); g.Figure != fig {
			t.Errorf("%s: figure %q, want %q", prefix, g.Figure, fig)
		}
	}
}

func TestGoalsWithoutCurvesOrRSS(t *testing.T) {
	r := &Report{Date: "2026-12-03T10:00:00Z"}
	gs := r.Goals(nil)
	if g := goalByName(t, gs, "growth curves"); !strings.HasPrefix(g.Verdict, "not measured") {
		t.Errorf("no curves: %q", g.Verdict)
	}
	if g := goalByName(t, gs, "peak RSS"); !strings.HasPrefix(g.Verdict, "not measured") {
		t.Errorf("no RSS: %q", g.Verdict)
	}
	for _, g := range gs {
		if g.Verdict == "met" {
			t.Errorf("an empty run met %q", g.Goal)
		}
	}
}

// A curve measured before the run began is marked, not silently used.
func TestGoalsMarkStaleCurves(t *testing.T) {
	r := &Report{Date: "2026-12-03T10:00:00Z"}
	gs := r.Goals(map[string]curveData{"commit": {Measured: "2026-12-01T08:00:00Z",
		Series: []Series{{Name: "files", X: []float64{1000, 10000}, Y: []float64{30, 200}}}}})
	g := goalByName(t, gs, "growth: commit")
	if g.Verdict != "met (curve from an earlier run, 2026-12-01T08:00:00Z)" {
		t.Errorf("stale curve verdict %q", g.Verdict)
	}
}

func TestLogLogSlope(t *testing.T) {
	for _, tc := range []struct {
		x, y      []float64
		fit, last float64
	}{
		{[]float64{10, 100, 1000}, []float64{5, 5, 5}, 0, 0},
		{[]float64{10, 100, 1000}, []float64{1, 10, 100}, 1, 1},
		{[]float64{10, 100, 1000}, []float64{1, 100, 10000}, 2, 2},
		// A fixed cost that hides growth at small N: the last step shows it.
		{[]float64{1, 10, 100}, []float64{100, 100, 1000}, 0.5, 1},
	} {
		s := Series{X: tc.x, Y: tc.y}
		if got := logLogSlope(s); math.Abs(got-tc.fit) > 1e-9 {
			t.Errorf("logLogSlope(%v) = %v, want %v", tc.y, got, tc.fit)
		}
		if got := lastExponent(s); math.Abs(got-tc.last) > 1e-9 {
			t.Errorf("lastExponent(%v) = %v, want %v", tc.y, got, tc.last)
		}
	}
	one := Series{X: []float64{10}, Y: []float64{1}}
	if !math.IsNaN(logLogSlope(one)) || !math.IsNaN(lastExponent(one)) {
		t.Error("one point has no slope")
	}
	// Points at zero cannot go on a log scale and are left out of the fit.
	if got := logLogSlope(Series{X: []float64{10, 100, 1000}, Y: []float64{1, 0, 100}}); math.Abs(got-1) > 1e-9 {
		t.Errorf("fit with a zero point = %v, want 1", got)
	}
}

func TestRenderGoals(t *testing.T) {
	var b strings.Builder
	RenderGoals(&b, "2026-12-03T10:00:00Z", []Goal{
		{Goal: "commit", Target: "≤ 1.2× `tar | pigz -1`", Figure: "1.10×", Verdict: "met"},
		{Goal: "pull", Target: "≥ 2×", Verdict: "not measured: pull-layers did not run"},
	})
	out := b.String()
	for _, want := range []string{
		"run of 2026-12-03T10:00:00Z", "1 of 2 met.",
		"| commit | ≤ 1.2× `tar \\| pigz -1` | 1.10× | met |",
		"| pull | ≥ 2× | — | not measured: pull-layers did not run |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("goals table lacks %q:\n%s", want, out)
		}
	}
}

func TestBridgeCost(t *testing.T) {
	bridge, host := res("start-bridge", "berth", 0.030), res("start-bridge", bridgeHost, 0.021)
	bridge.Runs, host.Runs = 20, 19
	out := bridgeCost([]*Result{res("start", "berth", 0.02), bridge, host})
	if len(out) != 1 || out[0].Case != "start-bridge-added" || math.Abs(*out[0].Median-0.009) > 1e-12 || out[0].Runs != 19 {
		t.Fatalf("bridgeCost = %+v", out)
	}
	if out := bridgeCost([]*Result{bridge}); out != nil {
		t.Errorf("no host line: %+v, want nothing", out)
	}
}

func TestReadCurves(t *testing.T) {
	dir := t.TempDir()
	if m, err := readCurves(filepath.Join(dir, "missing.json")); err != nil || m != nil {
		t.Errorf("missing file: %v, %v; want no curves and no error", m, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	if _, err := readCurves(bad); err == nil {
		t.Error("a broken curves.json must be an error")
	}
	good := filepath.Join(dir, "curves.json")
	os.WriteFile(good, []byte(`{"steps":{"measured":"2026-12-03T10:00:00Z","load":"1.0","series":[{"name":"s","x":[1,10],"y":[2,20],"peak_rss_kib":[100,200]}]}}`), 0o644)
	m, err := readCurves(good)
	if err != nil || len(m["steps"].Series) != 1 || m["steps"].Series[0].RSSKiB[1] != 200 {
		t.Errorf("readCurves = %+v, %v", m, err)
	}
}

// The restored layer is checked against the size recorded with the cache.
func TestCheckRestored(t *testing.T) {
	dir := t.TempDir()
	upper := filepath.Join(dir, "upper")
	os.MkdirAll(filepath.Join(upper, "etc"), 0o755)
	os.WriteFile(filepath.Join(upper, "etc", "a"), []byte("12345"), 0o644)
	cached := filepath.Join(dir, "layer.tar")
	os.WriteFile(cached+".size", []byte("2 5\n"), 0o644)
	if err := checkRestored(upper, cached); err != nil {
		t.Errorf("same tree: %v", err)
	}
	os.WriteFile(filepath.Join(upper, "etc", "b"), nil, 0o644)
	if err := checkRestored(upper, cached); err == nil {
		t.Error("a tree with one more file passed")
	}
	if err := checkRestored(upper, filepath.Join(dir, "none.tar")); err == nil {
		t.Error("a cache without its size file passed")
	}
}

// overlayMark finds whiteouts, and opaque directories only where they hide
// a base directory (dpkg's new directories are opaque and hide nothing).
func TestOverlayMark(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	upper, lower := filepath.Join(dir, "upper"), filepath.Join(dir, "lower")
	for _, d := range []string{"upper/usr/share/doc/new", "upper/etc/app", "lower/etc/app", "lower/usr/share/doc"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	if err := unix.Setxattr(filepath.Join(upper, "usr/share/doc/new"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatalf("trusted xattrs on %s: %v", dir, err)
	}
	if m := overlayMark(upper, []string{lower}); m != "" {
		t.Errorf("a new opaque directory counted: %q", m)
	}
	unix.Setxattr(filepath.Join(upper, "etc/app"), "trusted.overlay.opaque", []byte("y"), 0)
	if m := overlayMark(upper, []string{lower}); m != "opaque directory etc/app" {
		t.Errorf("an opaque directory over a base directory: %q", m)
	}
	unix.Removexattr(filepath.Join(upper, "etc/app"), "trusted.overlay.opaque")
	if err := unix.Mknod(filepath.Join(upper, "etc/gone"), unix.S_IFCHR|0o600, 0); err != nil {
		t.Fatal(err)
	}
	if m := overlayMark(upper, []string{lower}); m != "whiteout etc/gone" {
		t.Errorf("a whiteout: %q", m)
	}
}

func TestPrintCurvesShowsExponentsAndRSS(t *testing.T) {
	var b strings.Builder
	printCurves(&b, "ext4 with a journal on /dev/loop4", []curve{{id: "steps", series: []Series{{Name: "cold build", X: []float64{1, 10, 100}, Y: []float64{100, 100, 1000},
		RSSKiB: []int64{10 << 10, 24 << 10, 20 << 10}, CPU: []float64{40, 60, 900}}}}})
	for _, want := range []string{
		"| steps | cold build | 1: 100.0 ms (CPU 40.0 ms), 10: 100.0 ms (CPU 60.0 ms), 100: 1.00 s (CPU 900.0 ms) | 1.00 | 0.50 | 24.0 MiB |",
		"stores on ext4 with a journal on /dev/loop4.",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("curves table lacks %q:\n%s", want, b.String())
		}
	}
	// Curves measured before CPU was recorded still print.
	b.Reset()
	printCurves(&b, "", []curve{{id: "env", series: []Series{{Name: "env", X: []float64{10, 100}, Y: []float64{5, 9}}}}})
	if want := "| env | env | 10: 5.0 ms, 100: 9.0 ms |"; !strings.Contains(b.String(), want) {
		t.Errorf("curves table without CPU lacks %q:\n%s", want, b.String())
	}
}

func TestCacheCurveFlatIsMet(t *testing.T) {
	r := &Report{Date: "2026-12-03T10:00:00Z"}
	gs := r.Goals(map[string]curveData{"cache": {Measured: "2026-12-03T10:10:00Z",
		Series: []Series{{Name: "uncached step", X: []float64{10, 300, 1000}, Y: []float64{16, 17, 18}}}}})
	if g := goalByName(t, gs, "growth: cache"); g.Verdict != "met" || !strings.HasPrefix(g.Target, "flat") {
		t.Errorf("a flat cache curve: %+v", g)
	}
}

// A curve point records the median CPU time beside the wall time.
func TestCurvePointRecordsCPU(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "berth")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\ni=0; while [ $i -lt 100000 ]; do i=$((i+1)); done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := &curveEnv{berth: fake, dir: dir, runs: 3, log: io.Discard}
	pt, err := e.time(filepath.Join(dir, "root"), nil, "images")
	if err != nil {
		t.Fatal(err)
	}
	if pt.ms <= 0 || pt.cpuMS <= 0 {
		t.Errorf("point = %+v, want positive wall and CPU medians", pt)
	}
	var s Series
	s.add(10, pt)
	if len(s.CPU) != 1 || s.CPU[0] != pt.cpuMS || s.Y[0] != pt.ms {
		t.Errorf("series = %+v", s)
	}
}

// The runstep cases' C reference is shown beside the per-step figure and
// judged by nothing: the goal is Berth's.
func TestStepGoalShowsTheCReference(t *testing.T) {
	r := &Report{Date: "2026-12-03T10:00:00Z", Results: []*Result{
		res("runstep1", "berth", 0.030), res("runstep10", "berth", 0.084),
		res("runstep1", refCtrFloor, 0.008), res("runstep10", refCtrFloor, 0.053),
	}}
	g := goalByName(t, r.Goals(nil), "per-RUN-step overhead")
	if want := "6.0 ms/step (the same steps' hardened containers in C alone: 5.0 ms/step)"; g.Figure != want {
		t.Errorf("figure %q, want %q", g.Figure, want)
	}
	if g.Verdict != "not met" {
		t.Errorf("verdict %q, want not met", g.Verdict)
	}
	// Without Berth's own figures there is nothing to judge, reference or not.
	r.Results = r.Results[2:]
	if g := goalByName(t, r.Goals(nil), "per-RUN-step overhead"); !strings.HasPrefix(g.Verdict, "not measured") {
		t.Errorf("only the reference: verdict %q", g.Verdict)
	}
}

// The prune curve is judged as the other growth curves: linear or better
// between its two largest sizes.
func TestPruneCurveLinearIsMet(t *testing.T) {
	r := &Report{Date: "2026-12-03T10:00:00Z"}
	gs := r.Goals(map[string]curveData{"prune": {Measured: "2026-12-03T10:10:00Z",
		Series: []Series{{Name: "image prune -f, N dangling images", X: []float64{10, 100, 1000}, Y: []float64{30, 60, 420}}}}})
	g := goalByName(t, gs, "growth: prune, image prune -f, N dangling images")
	if g.Verdict != "met" || !strings.HasPrefix(g.Target, "linear or better") || !strings.HasPrefix(g.Figure, "0.85 (100 → 1k)") {
		t.Errorf("a linear prune curve: %+v", g)
	}
}
