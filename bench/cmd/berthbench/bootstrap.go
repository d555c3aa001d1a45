//go:build linux

package main

import (
	"math"
	"math/rand/v2"
	"sort"
)

// A goal's figure is a ratio or a difference of medians, judged against a
// line. How far the verdict can be trusted depends on how much those
// medians would move in another run of the same code: the bootstrap
// estimates that from the runs themselves. Each subject's runs are
// resampled with replacement, the figure is computed from the resamples'
// medians, and the middle 95% of bootstrapResamples such figures is the
// interval. The seed is fixed, so the same JSON always gives the same
// report.

const (
	bootstrapResamples = 2000
	bootstrapSeed      = 18 // issue 18
	bootstrapLevel     = 0.95
)

// Interval is a bootstrap confidence interval of a figure.
type Interval struct {
	Lo, Hi float64
}

// straddles says whether line lies inside the interval: another run of
// the same code could well land on the other side of it.
func (iv Interval) straddles(line float64) bool { return iv.Lo <= line && line <= iv.Hi }

// bootstrapCI returns the 95% percentile interval of stat, which gets one
// median per sample, over bootstrapResamples resamples of every sample.
// ok is false when a sample is empty or stat is not finite on the
// original medians or on any resample (a zero denominator, say).
func bootstrapCI(samples [][]float64, stat func(medians []float64) float64) (Interval, bool) {
	medians := make([]float64, len(samples))
	for i, s := range samples {
		if len(s) == 0 {
			return Interval{}, false
		}
		medians[i] = summarize(s).Median
	}
	if !finite(stat(medians)) {
		return Interval{}, false
	}
	rng := rand.New(rand.NewPCG(bootstrapSeed, bootstrapSeed))
	stats := make([]float64, bootstrapResamples)
	buf := make([]float64, 0, 64)
	for b := range stats {
		for i, s := range samples {
			buf = buf[:0]
			for range s {
				buf = append(buf, s[rng.IntN(len(s))])
			}
			medians[i] = summarize(buf).Median
		}
		v := stat(medians)
		if !finite(v) {
			return Interval{}, false
		}
		stats[b] = v
	}
	sort.Float64s(stats)
	tail := (1 - bootstrapLevel) / 2
	return Interval{Lo: quantile(stats, tail), Hi: quantile(stats, 1-tail)}, true
}

// quantile of sorted xs at q in [0, 1], interpolated between neighbours.
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	i := int(math.Floor(pos))
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	frac := pos - float64(i)
	return xs[i] + frac*(xs[i+1]-xs[i])
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ratioOf is stat for a ratio of two samples' medians.
func ratioOf(m []float64) float64 { return m[0] / m[1] }

// differenceOf is stat for a difference of two samples' medians, over div.
func differenceOf(div float64) func([]float64) float64 {
	return func(m []float64) float64 { return (m[0] - m[1]) / div }
}

// exponentOf is stat for the growth exponent between two sizes: the
// log-log slope from the first sample's median (at x0) to the second's.
func exponentOf(x0, x1 float64) func([]float64) float64 {
	return func(m []float64) float64 {
		if m[0] <= 0 || m[1] <= 0 {
			return math.NaN()
		}
		return math.Log(m[1]/m[0]) / math.Log(x1/x0)
	}
}
