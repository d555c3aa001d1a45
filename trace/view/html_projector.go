package view

import (
	"fmt"
)

// BuildCounts are a build's numbers, counted from its trace events (not
// from build.end's totals, which leave out FROM and failed steps).
type BuildCounts struct {
	Steps  int // step.start events
	Base   int // FROM steps
	Ran    int // steps that executed and succeeded
	Cached int // steps served from the cache
	Failed int
	// Layers are the layers this build committed (layer events with
	// content); EmptyLayers its steps that stored none (configuration
	// only). A cached step commits nothing, so it counts in neither.
	Layers      int
	EmptyLayers int
}

// CountBuild counts a build's steps and layers from its events.
func CountBuild(b *BuildModel) BuildCounts {
	var c BuildCounts
	for _, s := range b.Steps {
		c.Steps++
		switch {
		case s.Failed():
			c.Failed++
		case s.Info.Instruction == "FROM":
			c.Base++
		case s.Cached():
			c.Cached++
		case s.End != nil:
			c.Ran++
		}
		if s.Layer != nil {
			if s.Layer.Empty {
				c.EmptyLayers++
			} else {
				c.Layers++
			}
		}
	}
	return c
}

// String is the build's line: "3 steps: 1 base, 2 ran, 0 from the cache;
// 1 layer committed, 1 empty".
func (c BuildCounts) String() string {
	s := fmt.Sprintf("%s: %d base, %d ran, %d from the cache", plural(c.Steps, "step"), c.Base, c.Ran, c.Cached)
	if c.Failed > 0 {
		s += fmt.Sprintf(", %d failed", c.Failed)
	}
	return s + fmt.Sprintf("; %s committed, %d empty (configuration only)", plural(c.Layers, "layer"), c.EmptyLayers)
}

// layerSize shows a layer's size unpacked first, as `docker history` and
// `docker images` do, with its compressed (pushed) size beside.
func layerSize(uncompressed, compressed int64) string {
	if uncompressed <= 0 {
		return humanSize(compressed) + " compressed"
	}
	return fmt.Sprintf("%s, %s compressed", humanSize(uncompressed), humanSize(compressed))
}

// htmlBox is one box of a step's diagram: the notes' picture of a step,
// image → temporary container → snapshot → new image.
type htmlBox struct {
	Kind  string // image, container, snapshot, result, hit, fail
	Title string
	ID    string // the short ID from the trace
	Note  string
}

// stepDiagram draws one step as the notes describe it, with the trace's IDs.
func stepDiagram(b *BuildModel, s *StepModel) []htmlBox {
	if s.Info.Instruction == "FROM" {
		return []htmlBox{{Kind: "image", Title: "base image", ID: shortID(s.ResultImage()), Note: "taken from the store (or pulled)"}}
	}
	parent := htmlBox{Kind: "image", Title: "parent image", ID: shortID(b.ParentOf(s))}
	if s.Cached() {
		return []htmlBox{parent,
			{Kind: "hit", Title: "cache hit", Note: "this instruction was built on this image before: nothing runs"},
			{Kind: "result", Title: "image reused", ID: shortID(s.ResultImage())}}
	}
	boxes := []htmlBox{parent}
	for _, c := range s.Containers {
		box := htmlBox{Kind: "container", Title: "temporary container", ID: shortID(c.ID())}
		switch {
		case c.Create != nil && !c.Create.Started && c.Start == nil:
			box.Note = "never started: only the configuration changes"
		case c.Exit != nil && c.Exit.ExitCode != nil:
			box.Note = fmt.Sprintf("ran the instruction: exit code %d after %s", *c.Exit.ExitCode, duration(c.Exit.DurationMS))
		}
		boxes = append(boxes, box)
	}
	if s.Failed() {
		return append(boxes, htmlBox{Kind: "fail", Title: "step failed", Note: firstLine(s.End.Error)})
	}
	snap := htmlBox{Kind: "snapshot", Title: "snapshot"}
	switch {
	case s.Layer != nil && s.Layer.Empty:
		snap.Note = "no files changed: no layer"
	case s.Snapshot != nil:
		snap.Note = fmt.Sprintf("%d added, %d changed, %d deleted", s.Snapshot.Added, s.Snapshot.Changed, s.Snapshot.Deleted)
		if s.Layer != nil {
			snap.Note += " → layer " + layerSize(s.Layer.UncompressedSize, s.Layer.Size)
		}
	default:
		snap.Note = "(not in the trace)"
	}
	result := htmlBox{Kind: "result", Title: "new image", ID: shortID(s.ResultImage())}
	if s.Image != nil {
		result.Note = plural(s.Image.Layers, "layer")
	}
	return append(boxes, snap, result)
}

const projectorPageText = `{{define "style"}}:root { --hit: #5cff8d; --miss: #ffb347; --base: #c8d0da; --fail: #ff5c6c; --ink: #ffffff; --paper: #000000; }
html, body { margin: 0; height: 100%; background: var(--paper); color: var(--ink); }
body { font: 34px/1.35 var(--sans); }
.slide { display: none; min-height: 100vh; padding: 48px 64px; flex-direction: column; gap: 28px; }
.slide.current { display: flex; }
h1 { font-size: 64px; margin: 0; }
h2 { font-size: 52px; margin: 0; }
.ins { font-family: var(--mono); font-size: 44px; overflow-wrap: anywhere; }
.decision { font-size: 44px; font-weight: 800; }
.hit .decision { color: var(--hit); } .miss .decision { color: var(--miss); } .base .decision { color: var(--base); } .fail .decision { color: var(--fail); }
.why { font-size: 32px; }
.diagram { display: flex; flex-wrap: nowrap; align-items: stretch; gap: 0; }
.box { flex: 1 1 0; min-width: 0; border: 5px solid var(--ink); border-radius: 14px; padding: 14px 20px; overflow-wrap: anywhere; }
.box .t { font-weight: 800; font-size: 28px; text-transform: uppercase; letter-spacing: 0.04em; }
.box .id { font-family: var(--mono); font-size: 36px; }
.box .n { font-size: 24px; }
.box.image { border-color: var(--base); } .box.container { border-color: var(--miss); } .box.snapshot { border-color: var(--miss); border-style: dashed; }
.box.result { border-color: var(--hit); } .box.hit { border-color: var(--hit); border-style: dashed; } .box.fail { border-color: var(--fail); }
.arrow { align-self: center; font-size: 56px; padding: 0 14px; }
pre.out { background: #1b1b1b; color: #fff; border: 3px solid var(--fail); padding: 12px 18px; font-size: 26px; white-space: pre-wrap; margin: 0; }
.nav { margin-top: auto; font-size: 24px; color: #bbbbbb; }
{{end}}{{template "head" .}}
<body>
<section class="slide title" data-slide="0">
<h1>{{.Title}}</h1>
<p>{{.Summary}}</p>
{{range .Builds}}<p>Build {{.Index}} <code>{{.ID}}</code>: {{.Summary}}</p>{{if .Failed}}<pre class="out">{{.Error}}</pre>{{end}}{{end}}
<p class="nav">→ / Space: next step · ← : back · Home / End</p>
</section>
{{range $b := .Builds}}{{range .Steps}}<section class="slide step {{.Class}}" id="{{.Anchor}}" data-build="{{$b.Index}}" data-step="{{.N}}" data-decision="{{.Class}}">
<h2>Build {{$b.Index}} · Step {{.N}}/{{.Total}}</h2>
<div class="ins">{{.Original}}</div>
<div class="decision">{{.Decision}}{{if .Reason}} <code>({{.Reason}})</code>{{end}}</div>
<div class="diagram">{{range $i, $x := .Diagram}}{{if $i}}<span class="arrow">→</span>{{end}}<div class="box {{.Kind}}"><div class="t">{{.Title}}</div>{{if .ID}}<div class="id">{{.ID}}</div>{{end}}{{if .Note}}<div class="n">{{.Note}}</div>{{end}}</div>{{end}}</div>
<div class="why">{{.Explanation}}</div>
{{if .Output}}<pre class="out">{{range .Output}}{{.}}
{{end}}</pre>{{end}}
<p class="nav">{{.Duration}}</p>
</section>
{{end}}{{end}}
<script>
(function () {
  var slides = document.querySelectorAll('.slide'), i = 0;
  function show(n) {
    i = Math.max(0, Math.min(slides.length - 1, n));
    slides.forEach(function (s, k) { s.classList.toggle('current', k === i); });
    document.body.setAttribute('data-current', String(i));
  }
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown' || e.key === 'PageDown' || e.key === ' ') { show(i + 1); e.preventDefault(); }
    if (e.key === 'ArrowLeft' || e.key === 'ArrowUp' || e.key === 'PageUp') { show(i - 1); e.preventDefault(); }
    if (e.key === 'Home') { show(0); }
    if (e.key === 'End') { show(slides.length - 1); }
  });
  var start = parseInt((location.hash.match(/^#slide-(\d+)$/) || [])[1] || '0', 10);
  show(start);
})();
</script>
</body>
</html>
`
