package view

import (
	"errors"
	"fmt"
	"io"
)

// CompareOptions configure RenderCompareHTML.
type CompareOptions struct {
	Title string
	// FirstSource and SecondSource name the two trace files.
	FirstSource, SecondSource string
}

type cmpPage struct {
	Title, FirstSource, SecondSource string
	First, Second                    htmlBuild
	Rows                             []cmpRow
	Summary                          string
}

// cmpRow is one step number of the two builds, side by side.
type cmpRow struct {
	N             int
	First, Second *htmlStep
	Same          bool // same instruction text
	Change        string
}

// ErrNoBuild is returned when a trace to compare holds no build.
var ErrNoBuild = errors.New("the trace holds no build")

// RenderCompareHTML writes one self-contained page that puts the last build
// of first beside the last build of second (a first build and its rebuild):
// per step, which came from the cache, which ran, and the builder's reason.
func RenderCompareHTML(w io.Writer, first, second *Model, opts CompareOptions) error {
	a, b := first.LastBuild(), second.LastBuild()
	if a == nil {
		return fmt.Errorf("%s: %w", opts.FirstSource, ErrNoBuild)
	}
	if b == nil {
		return fmt.Errorf("%s: %w", opts.SecondSource, ErrNoBuild)
	}
	p := cmpPage{Title: opts.Title, FirstSource: opts.FirstSource, SecondSource: opts.SecondSource,
		First: compareSide(a), Second: compareSide(b)}
	if p.Title == "" {
		p.Title = "First build vs rebuild"
	}
	n := max(len(p.First.Steps), len(p.Second.Steps))
	changed := 0
	for i := 0; i < n; i++ {
		row := cmpRow{N: i + 1}
		if i < len(p.First.Steps) {
			row.First = &p.First.Steps[i]
		}
		if i < len(p.Second.Steps) {
			row.Second = &p.Second.Steps[i]
		}
		switch {
		case row.First == nil:
			row.Change = "new step"
		case row.Second == nil:
			row.Change = "removed"
		case row.First.Original == row.Second.Original:
			row.Same = true
		default:
			row.Change = "instruction changed"
		}
		if row.First != nil && row.Second != nil && row.First.Class != row.Second.Class {
			changed++
		}
		p.Rows = append(p.Rows, row)
	}
	p.Summary = fmt.Sprintf("first: %s · second: %s · %d of %s decided differently",
		p.First.Counts, p.Second.Counts, changed, plural(n, "step"))
	return compareTemplate().Execute(w, p)
}

func compareSide(b *BuildModel) htmlBuild {
	hb := htmlBuild{Index: b.Index, ID: shortID(b.ID), Counts: CountBuild(b)}
	total := buildSpan(b)
	for _, s := range b.Steps {
		hb.Steps = append(hb.Steps, htmlStepOf(b, s, total))
	}
	if b.End != nil {
		hb.Duration = duration(b.End.DurationMS)
		if b.Failed() {
			hb.Failed, hb.Error = true, b.End.Error
		} else {
			hb.Summary = "image " + shortID(b.End.Image)
		}
	}
	return hb
}

const comparePageText = `{{define "style"}}{{template "light"}}table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { text-align: left; vertical-align: top; padding: 10px 12px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: var(--soft); font-size: 24px; }
th.n, td.n { width: 3em; font-weight: 700; font-size: 26px; text-align: right; }
.badge.hit { background: var(--hit); } .badge.miss { background: var(--miss); } .badge.base { background: var(--base); } .badge.fail { background: var(--fail); }
.ins { font-family: var(--mono); font-size: 18px; }
.why { font-size: 17px; color: #33373d; }
tr.differs td { background: #fff8e1; }
.change { font-weight: 700; color: var(--miss); }
pre.out { white-space: pre-wrap; }
{{end}}{{template "head" .}}
<body>
<h1>{{.Title}}</h1>
<p class="sub">{{.Summary}}</p>
<table class="compare">
<thead><tr><th class="n">#</th><th>First: <code>{{.FirstSource}}</code> · build {{.First.ID}}{{if .First.Duration}} · {{.First.Duration}}{{end}}</th><th>Second: <code>{{.SecondSource}}</code> · build {{.Second.ID}}{{if .Second.Duration}} · {{.Second.Duration}}{{end}}</th></tr></thead>
<tbody>
{{range .Rows}}<tr class="row{{if and .First .Second}}{{if ne .First.Class .Second.Class}} differs{{end}}{{end}}" data-step="{{.N}}" data-first="{{if .First}}{{.First.Class}}{{end}}" data-second="{{if .Second}}{{.Second.Class}}{{end}}" data-second-reason="{{if .Second}}{{.Second.Reason}}{{end}}">
<td class="n">{{.N}}</td>
<td>{{with .First}}<div class="ins">{{.Original}}</div><span class="badge {{.Class}}">{{.Decision}}</span>{{if .Reason}} <code>{{.Reason}}</code>{{end}}{{if .Image}} → <code>{{.Image}}</code>{{end}}<div class="why">{{.Explanation}}</div>{{if .Failed}}{{if .Output}}<pre class="out">{{range .Output}}{{.}}
{{end}}</pre>{{end}}{{end}}{{else}}<span class="sub">(no such step)</span>{{end}}</td>
<td>{{with .Second}}<div class="ins">{{.Original}}</div><span class="badge {{.Class}}">{{.Decision}}</span>{{if .Reason}} <code>{{.Reason}}</code>{{end}}{{if .Image}} → <code>{{.Image}}</code>{{end}}<div class="why">{{.Explanation}}</div>{{if .Failed}}{{if .Output}}<pre class="out">{{range .Output}}{{.}}
{{end}}</pre>{{end}}{{end}}{{else}}<span class="sub">(no such step)</span>{{end}}{{if .Change}}<div class="change">{{.Change}}</div>{{end}}</td>
</tr>
{{end}}</tbody>
</table>
{{if .First.Failed}}<p>First build failed:</p><pre class="out">{{.First.Error}}</pre>{{end}}
{{if .Second.Failed}}<p>Second build failed:</p><pre class="out">{{.Second.Error}}</pre>{{end}}
<footer class="sub">Made by <code>berth trace html FIRST SECOND</code>. This page fetches nothing.</footer>
</body>
</html>
`
