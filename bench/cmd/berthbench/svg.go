//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Series is one line of a plot: y (milliseconds) over x (a count).
type Series struct {
	Name string    `json:"name"`
	X    []float64 `json:"x"`
	Y    []float64 `json:"y"`
	// RSSKiB is each point's peak RSS (GNU time, the warm-up run; 0 when
	// GNU time is missing).
	RSSKiB []int64 `json:"peak_rss_kib,omitempty"`
	// CPU is each point's median user plus system time, in milliseconds
	// like Y (the plots and the goals use Y, the wall clock).
	CPU []float64 `json:"cpu_ms,omitempty"`
	// Times are each point's timed runs, wall milliseconds: the goals'
	// bootstrap intervals resample them (absent in older curves.json).
	Times [][]float64 `json:"times_ms,omitempty"`
}

// Plot is a log-log chart: cost over size, so a straight line of slope 1
// is linear growth, a flat line constant cost, a steeper one worse.
type Plot struct {
	Title, XLabel, YLabel string
	Series                []Series
}

const (
	svgW, svgH             = 640, 400
	padL, padR, padT, padB = 70, 20, 40, 50
)

var svgColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}

// WriteSVG draws the plot with decade grid lines on both axes.
func (p Plot) WriteSVG(w io.Writer) error {
	xmin, xmax, ymin, ymax := p.bounds()
	lx0, lx1 := math.Floor(math.Log10(xmin)), math.Ceil(math.Log10(xmax))
	ly0, ly1 := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
	if lx1 == lx0 {
		lx1++
	}
	if ly1 == ly0 {
		ly1++
	}
	px := func(x float64) float64 {
		return padL + (math.Log10(x)-lx0)/(lx1-lx0)*float64(svgW-padL-padR)
	}
	py := func(y float64) float64 {
		return float64(svgH-padB) - (math.Log10(y)-ly0)/(ly1-ly0)*float64(svgH-padT-padB)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">%s</text>`+"\n", padL, xmlEscape(p.Title))
	for e := lx0; e <= lx1; e++ {
		x := px(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			x, padT, x, svgH-padB, x, svgH-padB+16, humanCount(math.Pow(10, e)))
	}
	for e := ly0; e <= ly1; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			padL, y, svgW-padR, y, padL-6, y+4, humanMs(math.Pow(10, e)))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", (svgW+padL)/2, svgH-12, xmlEscape(p.XLabel))
	fmt.Fprintf(&b, `<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">%s</text>`+"\n", svgH/2, svgH/2, xmlEscape(p.YLabel))
	for i, s := range p.Series {
		color := svgColors[i%len(svgColors)]
		var pts []string
		for j := range s.X {
			if s.X[j] > 0 && s.Y[j] > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[j]), py(s.Y[j])))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		for _, pt := range pts {
			xy := strings.Split(pt, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], color)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", padL+10, padT+16+16*i, color, xmlEscape(s.Name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (p Plot) bounds() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	for _, s := range p.Series {
		for i := range s.X {
			if s.X[i] <= 0 || s.Y[i] <= 0 {
				continue
			}
			xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
			ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
		}
	}
	if math.IsInf(xmin, 1) {
		return 1, 10, 1, 10
	}
	return xmin, xmax, ymin, ymax
}

func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}

func humanMs(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%g s", v/1000)
	}
	return fmt.Sprintf("%g ms", v)
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// growth is the exponent k of y ~ x^k between the first and last point:
// about 0 is flat, 1 linear, 2 quadratic.
func growth(s Series) float64 {
	n := len(s.X)
	if n < 2 || s.X[0] <= 0 || s.Y[0] <= 0 || s.X[n-1] <= s.X[0] || s.Y[n-1] <= 0 {
		return math.NaN()
	}
	return math.Log(s.Y[n-1]/s.Y[0]) / math.Log(s.X[n-1]/s.X[0])
}
