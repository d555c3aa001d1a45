//go:build linux

package main

import (
	"math"
	"strings"
	"testing"
)

func TestQuantile(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4}
	for q, want := range map[float64]float64{0: 0, 0.025: 0.1, 0.5: 2, 0.975: 3.9, 1: 4} {
		if got := quantile(xs, q); math.Abs(got-want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
}

// Runs that never vary give an interval of one point, whatever the stat.
func TestBootstrapOfConstantRunsIsAPoint(t *testing.T) {
	iv, ok := bootstrapCI([][]float64{{0.4, 0.4, 0.4}, {0.2, 0.2, 0.2, 0.2}}, ratioOf)
	if !ok || iv != (Interval{2, 2}) {
		t.Errorf("constant runs: %+v %v, want [2, 2]", iv, ok)
	}
	iv, ok = bootstrapCI([][]float64{{0.089}, {0.017}}, differenceOf(9))
	if !ok || math.Abs(iv.Lo-0.008) > 1e-12 || math.Abs(iv.Hi-0.008) > 1e-12 {
		t.Errorf("difference over 9: %+v %v, want [8 ms, 8 ms]", iv, ok)
	}
}

// The median of three resampled runs of {1, 2, 3} is 1 or 3 with
// probability 7/27 each, far above 2.5%: the interval is the whole range.
func TestBootstrapMedianOfThree(t *testing.T) {
	iv, ok := bootstrapCI([][]float64{{3, 1, 2}}, func(m []float64) float64 { return m[0] })
	if !ok || iv != (Interval{1, 3}) {
		t.Errorf("median of {1, 2, 3}: %+v, want [1, 3]", iv)
	}
}

// The same runs always give the same interval (the seed is fixed), inside
// the range the runs allow and around the medians' figure; more spread in
// the runs gives a wider interval.
func TestBootstrapIsReproducibleAndBounded(t *testing.T) {
	skopeo := []float64{0.37, 0.33, 0.45, 0.38, 0.36, 0.41, 0.35, 0.39, 0.40}
	berth := []float64{0.17, 0.16, 0.19, 0.18, 0.17, 0.175, 0.165, 0.185, 0.17}
	a, ok := bootstrapCI([][]float64{skopeo, berth}, ratioOf)
	b, _ := bootstrapCI([][]float64{skopeo, berth}, ratioOf)
	if !ok || a != b {
		t.Fatalf("two bootstraps of the same runs: %+v and %+v", a, b)
	}
	fig := summarize(skopeo).Median / summarize(berth).Median
	if !(0.33/0.19 <= a.Lo && a.Lo < fig && fig < a.Hi && a.Hi <= 0.45/0.16) {
		t.Errorf("interval %+v around %v, want inside [%v, %v] and holding the figure", a, fig, 0.33/0.19, 0.45/0.16)
	}
	wide := append([]float64(nil), skopeo...)
	wide[1], wide[2] = 0.25, 0.60
	wide[5], wide[6] = 0.55, 0.28
	w, _ := bootstrapCI([][]float64{wide, berth}, ratioOf)
	if w.Hi-w.Lo <= a.Hi-a.Lo {
		t.Errorf("wider runs gave %+v, not wider than %+v", w, a)
	}
}

func TestBootstrapRefusesWhatItCannotCompute(t *testing.T) {
	if _, ok := bootstrapCI([][]float64{{1, 2}, nil}, ratioOf); ok {
		t.Error("an empty sample gave an interval")
	}
	if _, ok := bootstrapCI([][]float64{{1, 2}, {0, 0}}, ratioOf); ok {
		t.Error("a zero denominator gave an interval")
	}
	if _, ok := bootstrapCI([][]float64{{0, 1}, {2, 3}}, exponentOf(10, 100)); ok {
		t.Error("a resample with a zero median gave an exponent")
	}
	if iv, ok := bootstrapCI([][]float64{{10, 10}, {100, 100}}, exponentOf(10, 100)); !ok || iv != (Interval{1, 1}) {
		t.Errorf("exponent of a tenfold median over a tenfold size: %+v, want [1, 1]", iv)
	}
}

func TestFormatRange(t *testing.T) {
	for _, tc := range []struct {
		iv     Interval
		format func(float64) string
		want   string
	}{
		{Interval{1.934, 2.412}, fmtRatio, "1.93–2.41"},
		{Interval{0.0071, 0.0089}, formatSeconds, "7.1–8.9 ms"},
		{Interval{0.0008, 0.0021}, formatSeconds, "800 µs–2.1 ms"},
		{Interval{-0.05, 0.3}, fmtExponent, "−0.05 to 0.30"},
	} {
		if got := formatRange(tc.iv, tc.format); got != tc.want {
			t.Errorf("formatRange(%+v) = %q, want %q", tc.iv, got, tc.want)
		}
	}
}

func withTimes(r *Result, times ...float64) *Result {
	r.Times = times
	return r
}

// A goal whose runs are in the JSON shows its interval; one whose interval
// holds the line is marked close, its verdict still judged on the medians.
func TestGoalsShowIntervalsAndCloseVerdicts(t *testing.T) {
	r := &Report{Date: "2026-12-03T10:00:00Z", Results: []*Result{
		withTimes(res("start", "berth", 0.017), 0.017, 0.017, 0.017),
		withTimes(res("start", "floor: unshare+chroot", 0.0034), 0.0034, 0.0034),
		withTimes(res("runstep1", "berth", 0.017), 0.017, 0.017, 0.017),
		withTimes(res("runstep10", "berth", 0.089), 0.089, 0.089, 0.089),
		withTimes(res("start-bridge", "berth", 0.016), 0.016, 0.016),
		withTimes(res("start-bridge", bridgeHost, 0.015), 0.015, 0.015),
		res("start-bridge-added", "berth", 0.001),
		withTimes(res("push-layers", "berth", 0.1), 0.1, 0.1, 0.1, 0.1, 0.1),
		withTimes(res("push-layers", "skopeo", 0.19), 0.15, 0.19, 0.21, 0.25, 0.18),
	}}
	curves := map[string]curveData{"cache": {Measured: "2026-12-03T10:10:00Z", Series: []Series{{Name: "uncached step",
		X: []float64{10, 300, 1000}, Y: []float64{13, 13, 14},
		Times: [][]float64{{13}, {13, 13, 13}, {14, 14, 14}}}}}}
	gs := r.Goals(curves)
	wantFigures(t, gs, map[string]string{
		"start:":                    "5.00× (95%: 5.00–5.00; berth 17.0 ms, floor: unshare+chroot 3.4 ms)",
		"per-RUN-step overhead":     "8.0 ms/step (95%: 8.0–8.0 ms)",
		"the bridge's added cost":   "1.0 ms (95%: 1.0–1.0 ms)",
		"growth: cache":             "0.06 (300 → 1k; 95%: 0.06–0.06); 0.01 fitted over all 3 points",
		"push of the 6-layer image": "1.90× (95%: 1.50–2.50; skopeo 190.0 ms, berth 100.0 ms)",
	})
	push := goalByName(t, gs, "push of the 6-layer image")
	if push.Verdict != "not met" || !push.Close {
		t.Errorf("push at 1.90× with an interval over 2×: verdict %q close %v, want not met and close", push.Verdict, push.Close)
	}
	if g := goalByName(t, gs, "start:"); g.Close || g.Interval == nil {
		t.Errorf("start far from its line: %+v, want an interval and not close", g)
	}
	var b strings.Builder
	RenderGoals(&b, r.Date, gs)
	for _, want := range []string{
		"1 verdict is close: the figure's 95% bootstrap interval (2000 resamples of each line's runs, fixed seed) holds the goal's line",
		"| 1.90× (95%: 1.50–2.50; skopeo 190.0 ms, berth 100.0 ms) | not met, close |",
		"| 5.00× (95%: 5.00–5.00; berth 17.0 ms, floor: unshare+chroot 3.4 ms) | not met |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("goals table lacks %q:\n%s", want, b.String())
		}
	}
}

// Results of an older JSON without runs keep the figures they had.
func TestGoalsWithoutRunsHaveNoInterval(t *testing.T) {
	r := &Report{Results: []*Result{res("push-layers", "berth", 0.1), res("push-layers", "skopeo", 0.2)}}
	g := goalByName(t, r.Goals(nil), "push of the 6-layer image")
	if g.Figure != "2.00× (skopeo 200.0 ms, berth 100.0 ms)" || g.Interval != nil || g.Close {
		t.Errorf("no runs: %+v", g)
	}
}
