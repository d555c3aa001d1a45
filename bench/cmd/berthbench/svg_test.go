//go:build linux

package main

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"
)

func TestGrowthExponent(t *testing.T) {
	for _, tc := range []struct {
		y    []float64
		want float64
	}{{[]float64{5, 5, 5}, 0}, {[]float64{1, 10, 100}, 1}, {[]float64{1, 100, 10000}, 2}} {
		got := growth(Series{X: []float64{10, 100, 1000}, Y: tc.y})
		if math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("growth(%v) = %v, want %v", tc.y, got, tc.want)
		}
	}
	if !math.IsNaN(growth(Series{X: []float64{1}, Y: []float64{1}})) {
		t.Error("one point has no growth")
	}
}

// The plot is well-formed SVG with one polyline and one label per series,
// and escapes titles.
func TestPlotSVG(t *testing.T) {
	p := Plot{Title: "a <b> & c", XLabel: "N", YLabel: "ms", Series: []Series{
		{Name: "images", X: []float64{10, 1000, 10000}, Y: []float64{20, 40, 300}},
		{Name: "ps", X: []float64{10, 1000, 10000}, Y: []float64{15, 0, 90}}, // a zero is skipped on a log scale
	}}
	var b strings.Builder
	if err := p.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	dec := xml.NewDecoder(strings.NewReader(out))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed: %v\n%s", err, out)
			}
			break
		}
	}
	if n := strings.Count(out, "<polyline"); n != 2 {
		t.Errorf("%d polylines, want 2", n)
	}
	if n := strings.Count(out, "<circle"); n != 5 {
		t.Errorf("%d points, want 5 (the zero skipped)", n)
	}
	if !strings.Contains(out, "a &lt;b&gt; &amp; c") {
		t.Error("title not escaped")
	}
}
