//go:build linux

package main

import "testing"

// A short point gets shortRunCount runs, decided by its first run; a long
// one keeps the runs asked for, and -runs above shortRunCount stays.
func TestShortRuns(t *testing.T) {
	for _, tc := range []struct {
		runs int
		ms   []float64
		want int
	}{
		{3, nil, 3},
		{3, []float64{15}, shortRunCount},
		{3, []float64{15, 900}, shortRunCount},
		{3, []float64{250}, 3},
		{1, []float64{99.9}, shortRunCount},
		{20, []float64{15}, 20},
	} {
		if got := shortRuns(tc.runs, tc.ms); got != tc.want {
			t.Errorf("shortRuns(%d, %v) = %d, want %d", tc.runs, tc.ms, got, tc.want)
		}
	}
}
