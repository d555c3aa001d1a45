package view

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"sync"
	"time"
)

// HTMLOptions configure RenderHTML.
type HTMLOptions struct {
	// Title heads the page; default "Berth build trace".
	Title string
	// Source names the trace file, shown under the title.
	Source string
	// Projector renders one step per screen in large, high-contrast type,
	// moved through with the arrow keys.
	Projector bool
}

type htmlPage struct {
	Title   string
	Source  string
	Summary string
	Builds  []htmlBuild
	Others  []htmlOther
	Lesson  string
}

type htmlBuild struct {
	Counts   BuildCounts
	Index    int
	ID       string
	Summary  string
	Failed   bool
	Error    string
	Tags     []string
	Steps    []htmlStep
	Stack    []htmlLayer
	Duration string
	Context  string
}

type htmlStep struct {
	Anchor      string
	N, Total    int
	Original    string
	Instruction string
	Class       string // base, hit, miss, fail
	Decision    string // "base", "cache hit", "ran", "failed"
	Reason      string
	Explanation string
	Key         string
	Parent      string
	Image       string
	Left, Width float64 // percent of the build's wall time
	Duration    string
	Container   string
	Output      []string
	OutputLines string // "1 line", "3 lines"
	Previous    string
	Failed      bool
	Diagram     []htmlBox
}

type htmlLayer struct {
	Anchor  string
	N       int
	Label   string
	Summary string
	Class   string
	Size    string // uncompressed, with the compressed size beside
	Height  int    // px, grows with the layer's size
	Paths   []string
	More    []string
	// Unlisted: the trace caps its list of paths, so more changed than it lists.
	Unlisted bool
}

type htmlOther struct {
	Title  string
	Lines  []string
	Output []string
}

// RenderHTML writes one self-contained page (inline CSS and a few lines of
// inline JavaScript, nothing fetched) that shows every build of the trace:
// the steps on a timeline, the layer stack with sizes and the files each
// step changed, and every cache decision with its reason.
func RenderHTML(w io.Writer, m *Model, opts HTMLOptions) error {
	p := htmlPage{Title: opts.Title, Source: opts.Source}
	if p.Title == "" {
		p.Title = "Berth build trace"
	}
	if len(m.Markers) > 0 {
		if name, base, _, _, err := ReadHeader(m.Events); err == nil {
			p.Lesson = fmt.Sprintf("Recorded by lesson %s on base %s", name, base)
		}
	}
	steps, ran, cached, failed := 0, 0, 0, 0
	for _, b := range m.Builds {
		hb := htmlBuild{Index: b.Index, ID: shortID(b.ID), Counts: CountBuild(b)}
		if b.Start != nil {
			hb.Context = fmt.Sprintf("build context: %s, %s", plural(b.Start.ContextFiles, "file"), humanSize(b.Start.ContextBytes))
		}
		total := buildSpan(b)
		steps += hb.Counts.Steps
		ran += hb.Counts.Ran
		cached += hb.Counts.Cached
		failed += hb.Counts.Failed
		hb.Summary = hb.Counts.String()
		if b.End != nil {
			hb.Duration = duration(b.End.DurationMS)
			if b.Failed() {
				hb.Failed, hb.Error = true, b.End.Error
				hb.Summary += " · failed: " + firstLine(b.End.Error)
			} else {
				hb.Summary += " → image " + shortID(b.End.Image)
			}
		}
		for _, t := range b.Tags {
			hb.Tags = append(hb.Tags, t.Ref)
		}
		for _, s := range b.Steps {
			hb.Steps = append(hb.Steps, htmlStepOf(b, s, total))
		}
		for _, row := range LayerStack(m, b) {
			hb.Stack = append(hb.Stack, htmlLayerOf(b, row))
		}
		p.Builds = append(p.Builds, hb)
	}
	for _, c := range m.Containers {
		if c.Build != "" {
			continue
		}
		o := htmlOther{Title: fmt.Sprintf("%s container %s", orNone(c.Create.Purpose), shortID(c.ID()))}
		o.Lines = append(o.Lines, fmt.Sprintf("created from image %s to run %s", shortID(c.Create.Image), cmdString(c.Create.Cmd)))
		if c.Create.Name != "" {
			o.Lines = append(o.Lines, "name "+c.Create.Name)
		}
		o.Lines = append(o.Lines, containerPlumbing(c)...)
		if c.Exit != nil && c.Exit.ExitCode != nil {
			o.Lines = append(o.Lines, fmt.Sprintf("exited with code %d after %s", *c.Exit.ExitCode, duration(c.Exit.DurationMS)))
		}
		for _, cm := range m.Commits {
			if cm.Container == c.ID() && cm.Image != nil {
				o.Lines = append(o.Lines, commitLine(cm))
			}
		}
		if c.Remove {
			o.Lines = append(o.Lines, "removed")
		}
		o.Output = c.Output
		p.Others = append(p.Others, o)
	}
	p.Summary = fmt.Sprintf("%s · %s: %d ran, %d from the cache", plural(len(m.Builds), "build"), plural(steps, "step"), ran, cached)
	if failed > 0 {
		p.Summary += fmt.Sprintf(", %d failed", failed)
	}
	if opts.Projector {
		return projectorTemplate().Execute(w, p)
	}
	return htmlTemplate().Execute(w, p)
}

func commitLine(cm *CommitModel) string {
	line := fmt.Sprintf("committed as image %s", shortID(cm.Image.ID))
	if len(cm.Image.Cmd) > 0 {
		j, _ := json.Marshal(cm.Image.Cmd)
		line += " with CMD " + string(j)
	}
	if cm.Snapshot != nil {
		line += fmt.Sprintf(" (snapshot: %d added, %d changed, %d deleted)", cm.Snapshot.Added, cm.Snapshot.Changed, cm.Snapshot.Deleted)
	}
	return line
}

// buildSpan is the build's wall time, from its events.
func buildSpan(b *BuildModel) time.Duration {
	var end time.Time
	for _, s := range b.Steps {
		if s.Ended.After(end) {
			end = s.Ended
		}
	}
	span := end.Sub(b.Started)
	if b.End != nil {
		if d := time.Duration(b.End.DurationMS) * time.Millisecond; d > span {
			span = d
		}
	}
	if span <= 0 {
		span = time.Millisecond
	}
	return span
}

func htmlStepOf(b *BuildModel, s *StepModel, total time.Duration) htmlStep {
	hs := htmlStep{Anchor: fmt.Sprintf("b%d-step-%d", b.Index, s.Number()), N: s.Number(), Total: s.Info.Total,
		Original: s.Info.Original, Instruction: s.Info.Instruction, Image: shortID(s.ResultImage())}
	if s.End != nil {
		hs.Duration = duration(s.End.DurationMS)
	}
	if !s.Started.IsZero() && !b.Started.IsZero() {
		hs.Left = pct(s.Started.Sub(b.Started), total)
	}
	stepDur := time.Duration(0)
	if s.End != nil {
		stepDur = time.Duration(s.End.DurationMS) * time.Millisecond
		if !s.Ended.IsZero() && !s.Started.IsZero() {
			stepDur = s.Ended.Sub(s.Started)
		}
	}
	hs.Width = math.Max(pct(stepDur, total), 0.8)
	if hs.Left+hs.Width > 100 {
		hs.Left = math.Max(0, 100-hs.Width)
	}
	hs.Diagram = stepDiagram(b, s)
	switch {
	case s.Failed():
		hs.Class, hs.Decision, hs.Failed = "fail", "failed", true
		hs.Explanation = s.End.Error
	case s.Info.Instruction == "FROM":
		hs.Class, hs.Decision = "base", "base image"
		hs.Explanation = "FROM takes the base image from the store (or pulls it); it is not a cache lookup"
	case s.Cached():
		hs.Class, hs.Decision = "hit", "cache hit"
	default:
		hs.Class, hs.Decision = "miss", "ran"
	}
	if c := s.Probe; c != nil {
		hs.Reason, hs.Key, hs.Parent, hs.Previous = c.Reason, c.Key, shortID(c.Parent), c.Previous
		if !s.Failed() {
			hs.Explanation = c.Explanation
		}
	}
	for _, c := range s.Containers {
		hs.Container = shortID(c.ID())
		for _, line := range c.Output {
			hs.Output = append(hs.Output, strings.TrimRight(line, "\n"))
		}
	}
	hs.OutputLines = plural(len(hs.Output), "line")
	return hs
}

func pct(d, total time.Duration) float64 {
	if total <= 0 || d <= 0 {
		return 0
	}
	v := float64(d) / float64(total) * 100
	return math.Round(math.Min(v, 100)*100) / 100
}

func htmlLayerOf(b *BuildModel, row LayerRow) htmlLayer {
	hl := htmlLayer{Anchor: fmt.Sprintf("b%d-layer-%d", b.Index, row.Step.Number()), N: row.Step.Number(),
		Label: row.Step.Info.Original, Summary: row.Summary, Height: 34}
	switch {
	case row.Step.Info.Instruction == "FROM":
		hl.Class = "base"
	case row.Empty:
		hl.Class = "empty"
		hl.Height = 20
	case row.Bytes > 0:
		hl.Class = "layer"
		hl.Size = layerSize(row.Uncompressed, row.Bytes)
		hl.Height = 34 + int(math.Min(120, 12*math.Log10(float64(row.Bytes)+1)))
	default:
		hl.Class = "layer"
	}
	if row.Step.Cached() {
		hl.Class += " cached"
	}
	const show = 12
	for i, p := range row.Paths {
		if i < show {
			hl.Paths = append(hl.Paths, p)
		} else {
			hl.More = append(hl.More, p)
		}
	}
	hl.Unlisted = row.Truncated
	return hl
}

// The pages are parsed on first use, not at every berth process's start.
var (
	htmlTemplate      = sync.OnceValue(func() *template.Template { return pageTemplate("page", htmlPageText) })
	projectorTemplate = sync.OnceValue(func() *template.Template { return pageTemplate("projector", projectorPageText) })
	compareTemplate   = sync.OnceValue(func() *template.Template { return pageTemplate("compare", comparePageText) })
)

// pageTemplate parses one page on the parts every page shares: the head
// (which holds the page's "style") and the light theme. A page defines
// "style" and starts its body after {{template "head" .}}.
func pageTemplate(name, text string) *template.Template {
	t := template.Must(template.New(name).Parse(sharedPageText))
	return template.Must(t.New(name).Parse(text))
}

// sharedPageText is the head of every page, the font stacks they use, and
// the light theme of the trace page and the comparison (the projector's is
// dark, large and its own).
const sharedPageText = `{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { --mono: "DejaVu Sans Mono", Menlo, Consolas, monospace; --sans: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
code, .mono { font-family: var(--mono); }
{{template "style"}}</style>
</head>{{end}}
{{define "light"}}:root { --hit: #17703a; --miss: #b34700; --base: #4a4f57; --fail: #b00020; --ink: #15171a; --paper: #ffffff; --soft: #f1f3f5; --line: #c9ced4; }
body { margin: 0; padding: 28px 40px 60px; font: 21px/1.45 var(--sans); color: var(--ink); background: var(--paper); }
h1 { font-size: 38px; margin: 0 0 4px; }
code, .mono { font-size: 0.92em; }
.sub { color: #4a4f57; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 999px; color: #fff; font-size: 17px; font-weight: 600; white-space: nowrap; }
pre.out { background: #15171a; color: #e9ecef; padding: 8px 12px; border-radius: 6px; font-size: 16px; margin: 6px 0 0; }
{{end}}`

const htmlPageText = `{{define "style"}}{{template "light"}}h2 { font-size: 30px; margin: 44px 0 8px; border-bottom: 3px solid var(--ink); padding-bottom: 4px; }
h3 { font-size: 24px; margin: 26px 0 10px; }
.legend span { display: inline-block; margin-right: 18px; }
.chip { display: inline-block; width: 18px; height: 18px; border-radius: 4px; vertical-align: -3px; margin-right: 6px; }
.c-hit { background: var(--hit); } .c-miss { background: var(--miss); } .c-base { background: var(--base); } .c-fail { background: var(--fail); }
ol.timeline { list-style: none; padding: 0; margin: 0; }
.timeline li { display: grid; grid-template-columns: 3.2em minmax(12em, 30em) 1fr 6em; gap: 12px; align-items: center; padding: 8px 0; border-bottom: 1px solid var(--line); cursor: pointer; }
.timeline li:hover, .timeline li.focus { background: var(--soft); }
.num { font-weight: 700; font-size: 26px; text-align: right; }
.ins { font-family: var(--mono); font-size: 19px; overflow-wrap: anywhere; }
.track { position: relative; height: 30px; background: var(--soft); border-radius: 6px; }
.bar { position: absolute; top: 0; bottom: 0; border-radius: 6px; min-width: 6px; }
.hit .bar { background: var(--hit); } .miss .bar { background: var(--miss); } .base .bar { background: var(--base); } .fail .bar { background: var(--fail); }
.dur { text-align: right; font-variant-numeric: tabular-nums; }
.hit .badge, .badge.hit { background: var(--hit); } .miss .badge, .badge.miss { background: var(--miss); } .base .badge, .badge.base { background: var(--base); } .fail .badge, .badge.fail { background: var(--fail); }
.stack { max-width: 60em; }
.layer-box { border: 3px solid var(--ink); border-radius: 8px; margin: 0 0 6px; padding: 8px 14px; display: flex; flex-direction: column; justify-content: center; }
.layer-box.layer { background: #fff4e5; border-color: var(--miss); }
.layer-box.layer.cached { background: #e6f4ea; border-color: var(--hit); }
.layer-box.empty { background: #fff; border-style: dashed; border-color: #8a9099; }
.layer-box.base { background: #e9ecef; border-color: var(--base); }
.layer-box .head { display: flex; justify-content: space-between; gap: 16px; }
.layer-box .size { font-weight: 700; white-space: nowrap; }
.paths { margin: 6px 0 0; padding: 0; list-style: none; columns: 2; font-size: 17px; }
details summary { cursor: pointer; color: #33506b; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 8px 10px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); }
td.key { font-size: 16px; color: #33373d; overflow-wrap: anywhere; }
pre.out { overflow-x: auto; }
button { font: inherit; padding: 4px 14px; border-radius: 8px; border: 2px solid var(--ink); background: var(--paper); cursor: pointer; }
footer { margin-top: 48px; color: #6b7178; font-size: 16px; }
.diagram { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; margin: 8px 0 0; font-size: 16px; }
.diagram .box { border: 2px solid var(--base); border-radius: 6px; padding: 2px 8px; background: var(--paper); }
.diagram .box.container, .diagram .box.snapshot { border-color: var(--miss); } .diagram .box.snapshot { border-style: dashed; }
.diagram .box.result { border-color: var(--hit); } .diagram .box.hit { border-color: var(--hit); border-style: dashed; } .diagram .box.fail { border-color: var(--fail); }
.diagram .arrow { font-weight: 700; }
{{end}}{{template "head" .}}
<body>
<header>
<h1>{{.Title}}</h1>
<p class="sub">{{if .Source}}<code>{{.Source}}</code> · {{end}}{{.Summary}}{{if .Lesson}} · {{.Lesson}}{{end}}</p>
<p class="legend"><span><i class="chip c-base"></i>base image (FROM)</span><span><i class="chip c-hit"></i>cache hit: reused, nothing ran</span><span><i class="chip c-miss"></i>ran: cache miss</span><span><i class="chip c-fail"></i>failed</span> <button type="button" id="toggle">Show every file</button></p>
</header>
{{range .Builds}}{{$b := .}}
<section class="build" id="build-{{.Index}}" data-build="{{.Index}}" data-steps="{{.Counts.Steps}}" data-ran="{{.Counts.Ran}}" data-cached="{{.Counts.Cached}}" data-failed="{{.Counts.Failed}}" data-layers="{{.Counts.Layers}}" data-empty-layers="{{.Counts.EmptyLayers}}">
<h2>Build {{.Index}} <span class="sub mono">{{.ID}}</span></h2>
{{if .Failed}}<pre class="out error">{{.Error}}</pre>{{end}}
<p>{{.Summary}}{{if .Duration}} · {{.Duration}}{{end}}{{if .Context}} · {{.Context}}{{end}}{{range .Tags}} · tagged <code>{{.}}</code>{{end}}</p>
<h3>Steps on a timeline</h3>
<ol class="timeline">
{{range .Steps}}<li class="step {{.Class}}" id="{{.Anchor}}" data-step="{{.N}}" data-build="{{$b.Index}}" data-decision="{{.Class}}" data-target="b{{$b.Index}}-layer-{{.N}}">
<span class="num">{{.N}}</span>
<span class="ins">Step {{.N}}/{{.Total}} : {{.Original}}</span>
<span class="track"><span class="bar" style="left: {{.Left}}%; width: {{.Width}}%"></span></span>
<span class="dur">{{.Duration}}</span>
</li>
{{end}}</ol>
<h3>Layer stack of the result (top first)</h3>
<div class="stack">
{{range .Stack}}<div class="layer-box {{.Class}}" id="{{.Anchor}}" style="min-height: {{.Height}}px">
<div class="head"><span><b>Step {{.N}}</b> · <code>{{.Label}}</code></span><span class="size">{{.Size}}</span></div>
<div class="sub">{{.Summary}}</div>
{{if .Paths}}<ul class="paths mono">{{range .Paths}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .More}}<details class="more"><summary>{{len .More}} more paths{{if .Unlisted}}, then more the trace does not list{{end}}</summary><ul class="paths mono">{{range .More}}<li>{{.}}</li>{{end}}</ul></details>{{else if .Unlisted}}<p class="more">and more paths the trace does not list</p>{{end}}
</div>
{{end}}</div>
<h3>Cache decisions</h3>
<table class="cache">
<thead><tr><th>Step</th><th>Decision</th><th>Why</th><th>Cache key (parent + instruction)</th></tr></thead>
<tbody>
{{range .Steps}}<tr class="{{.Class}}" data-step="{{.N}}"><td><b>{{.N}}</b></td><td><span class="badge {{.Class}}">{{.Decision}}</span>{{if .Reason}}<br><code>{{.Reason}}</code>{{end}}</td><td>{{.Explanation}}{{if .Previous}}<br><span class="sub">built on this parent before: <code>{{.Previous}}</code></span>{{end}}{{if .Container}}<br><span class="sub">intermediate container <code>{{.Container}}</code></span>{{end}}<div class="diagram" data-step="{{.N}}">{{range $i, $x := .Diagram}}{{if $i}}<span class="arrow">→</span>{{end}}<span class="box {{.Kind}}"><b>{{.Title}}</b>{{if .ID}} <code>{{.ID}}</code>{{end}}{{if .Note}}<br><small>{{.Note}}</small>{{end}}</span>{{end}}</div>{{if .Output}}<details{{if .Failed}} open{{end}}><summary>output ({{.OutputLines}})</summary><pre class="out">{{range .Output}}{{.}}
{{end}}</pre></details>{{end}}</td><td class="key mono">{{if .Key}}parent {{.Parent}} + {{.Key}}{{else}}{{.Image}}{{end}}</td></tr>
{{end}}</tbody>
</table>
</section>
{{end}}
{{if .Others}}<section id="containers"><h2>Containers outside builds</h2>
{{range .Others}}<h3 class="mono">{{.Title}}</h3><ul>{{range .Lines}}<li>{{.}}</li>{{end}}</ul>{{if .Output}}<pre class="out">{{range .Output}}{{.}}{{end}}</pre>{{end}}
{{end}}</section>{{end}}
<footer>Made by <code>berth trace html</code> from a recorded trace. This page fetches nothing: everything is in this file.</footer>
<script>
(function () {
  var open = false;
  document.getElementById('toggle').addEventListener('click', function () {
    open = !open;
    document.querySelectorAll('details:not(.keep)').forEach(function (d) { d.open = open; });
    this.textContent = open ? 'Hide the extra files' : 'Show every file';
  });
  document.querySelectorAll('.timeline li').forEach(function (li) {
    li.addEventListener('click', function () {
      var t = document.getElementById(li.getAttribute('data-target'));
      document.querySelectorAll('.focus').forEach(function (e) { e.classList.remove('focus'); });
      li.classList.add('focus');
      if (t) { t.scrollIntoView({behavior: 'smooth', block: 'center'}); }
    });
  });
})();
</script>
</body>
</html>
`
