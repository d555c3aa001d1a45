//go:build linux

package main

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	cases := []struct {
		in               []float64
		median, min, max float64
	}{
		{[]float64{3, 1, 2}, 2, 1, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
		{[]float64{7}, 7, 7, 7},
	}
	for _, c := range cases {
		got := summarize(c.in)
		if got.Median != c.median || got.Min != c.min || got.Max != c.max {
			t.Errorf("summarize(%v) = %+v, want median %v min %v max %v", c.in, got, c.median, c.min, c.max)
		}
	}
	if got := summarize(nil); !math.IsNaN(got.Median) {
		t.Errorf("summarize(nil).Median = %v, want NaN", got.Median)
	}
	in := []float64{3, 1, 2}
	summarize(in)
	if in[0] != 3 {
		t.Error("summarize sorted its argument in place")
	}
}

func TestFitLine(t *testing.T) {
	a, b, ok := fitLine([]float64{1, 5, 10}, []float64{0.07, 0.27, 0.52})
	if !ok || math.Abs(a-0.02) > 1e-9 || math.Abs(b-0.05) > 1e-9 {
		t.Fatalf("fitLine = %v, %v, %v; want 0.02, 0.05, true", a, b, ok)
	}
	if _, _, ok := fitLine([]float64{3, 3}, []float64{1, 2}); ok {
		t.Error("fitLine with one distinct x must fail")
	}
	if _, _, ok := fitLine([]float64{1}, []float64{1}); ok {
		t.Error("fitLine with one point must fail")
	}
}

func TestSlopesFitTheRunStepCases(t *testing.T) {
	var results []*Result
	for _, n := range runStepCounts {
		results = append(results,
			&Result{Case: "runstep" + itoa(n), Tool: "berth", Median: ptr(0.1 + 0.02*float64(n))},
			&Result{Case: "runstep" + itoa(n), Tool: "buildah", Median: ptr(0.5 + 0.4*float64(n))},
			&Result{Case: "runstep" + itoa(n), Tool: "broken", DidNotRun: "boom"})
	}
	got := slopes(results)
	if len(got) != 2 {
		t.Fatalf("got %d slope results, want 2 (berth, buildah; the tool that did not run has none)", len(got))
	}
	if got[0].Tool != "berth" || math.Abs(*got[0].Median-0.02) > 1e-9 || got[0].Unit != "s/step" {
		t.Errorf("berth slope = %+v, want 20 ms/step", got[0])
	}
	if math.Abs(*got[1].Median-0.4) > 1e-9 || math.Abs(*got[1].Ratio-20) > 1e-9 {
		t.Errorf("buildah slope %v ratio %v, want 0.4 and 20×", *got[1].Median, *got[1].Ratio)
	}
}

func itoa(n int) string { return joinInts([]int{n}) }

func TestSetRatiosDividesByBerth(t *testing.T) {
	rs := []*Result{{Tool: "podman", Median: ptr(3)}, {Tool: "berth", Median: ptr(1.5)}, {Tool: "crun", DidNotRun: "x"}}
	setRatios(rs)
	if *rs[0].Ratio != 2 || *rs[1].Ratio != 1 || rs[2].Ratio != nil {
		t.Errorf("ratios = %v, %v, %v; want 2, 1, nil", *rs[0].Ratio, *rs[1].Ratio, rs[2].Ratio)
	}
	noBerth := []*Result{{Tool: "podman", Median: ptr(3)}}
	setRatios(noBerth)
	if noBerth[0].Ratio != nil {
		t.Error("a case without a Berth result must have no ratios")
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[float64]string{0.0004: "400 µs", 0.0123: "12.3 ms", 1.5: "1.50 s", math.NaN(): "—"} {
		if got := formatSeconds(in); got != want {
			t.Errorf("formatSeconds(%v) = %q, want %q", in, got, want)
		}
	}
	if got := formatKiB(2048); got != "2.0 MiB" {
		t.Errorf("formatKiB(2048) = %q", got)
	}
	if got := formatKiB(0); got != "—" {
		t.Errorf("formatKiB(0) = %q", got)
	}
}
