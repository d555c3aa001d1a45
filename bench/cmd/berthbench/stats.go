//go:build linux

package main

import (
	"math"
	"sort"
)

// Summary is the order statistics of a set of timings, in seconds.
type Summary struct {
	Median, Min, Max float64
}

// summarize returns the median, minimum and maximum of xs (the median of an
// even count is the mean of the middle two). An empty set gives NaNs.
func summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{math.NaN(), math.NaN(), math.NaN()}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{Median: med, Min: s[0], Max: s[n-1]}
}

// fitLine fits y = a + b·x by least squares and returns the intercept a and
// the slope b. It needs at least two distinct x values.
func fitLine(xs, ys []float64) (a, b float64, ok bool) {
	if len(xs) != len(ys) || len(xs) < 2 {
		return 0, 0, false
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	n := float64(len(xs))
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		return 0, 0, false
	}
	b = sxy / sxx
	return my - b*mx, b, true
}
