package view

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/berthkit/berth/trace"
)

// The counts on the page are the trace's: step.start events, and layer
// events with content (committed) or without (empty), per build.
func TestHTMLCountsMatchEvents(t *testing.T) {
	attr := func(section, name string) int {
		m := regexp.MustCompile(` ` + name + `="(\d+)"`).FindStringSubmatch(section)
		if m == nil {
			t.Fatalf("no %s in %s", name, section)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	for _, name := range recordingNames(t) {
		page, m := renderRecording(t, name)
		for _, b := range m.Builds {
			steps, layers, empty := 0, 0, 0
			for _, e := range m.Events {
				if e.Build != b.ID {
					continue
				}
				switch {
				case e.Type == trace.StepStart:
					steps++
				case e.Type == trace.Layer && e.Layer != nil && e.Layer.Empty:
					empty++
				case e.Type == trace.Layer:
					layers++
				}
			}
			section := regexp.MustCompile(fmt.Sprintf(`<section class="build" id="build-%d"[^>]*>`, b.Index)).FindString(page)
			if got := attr(section, "data-steps"); got != steps {
				t.Errorf("%s build %d: page says %d steps, the trace has %d", name, b.Index, got, steps)
			}
			if got := attr(section, "data-layers"); got != layers {
				t.Errorf("%s build %d: page says %d layers, the trace has %d", name, b.Index, got, layers)
			}
			if got := attr(section, "data-empty-layers"); got != empty {
				t.Errorf("%s build %d: page says %d empty layers, the trace has %d", name, b.Index, got, empty)
			}
			c := CountBuild(b)
			if c.Base+c.Ran+c.Cached+c.Failed != steps {
				t.Errorf("%s build %d: %+v does not add up to %d steps", name, b.Index, c, steps)
			}
			if !strings.Contains(page, c.String()) {
				t.Errorf("%s build %d: the page lacks %q", name, b.Index, c.String())
			}
		}
	}
	page, bp := renderRecording(t, "build-process")
	// every step has the notes' picture, with the trace's IDs
	if n := strings.Count(page, `<div class="diagram" data-step=`); n != len(bp.Builds[0].Steps) {
		t.Errorf("%d step diagrams, want %d", n, len(bp.Builds[0].Steps))
	}
	run := bp.Builds[0].Step(2)
	if !strings.Contains(page, `<span class="box container"><b>temporary container</b> <code>`+shortID(run.Containers[0].ID())+`</code>`) {
		t.Error("the diagram lacks step 2's temporary container")
	}
	if strings.Contains(page, "(1 lines)") || !regexp.MustCompile(`output \(\d+ lines?\)`).MatchString(page) {
		t.Error("the output's line count is missing or says '1 lines'")
	}
	if !strings.Contains(page, "3 steps: 1 base, 2 ran, 0 from the cache; 1 layer committed, 1 empty (configuration only)") {
		t.Error("build-process: wrong counts line")
	}
	// sizes: unpacked first, compressed beside
	if !regexp.MustCompile(`<span class="size">[0-9.]+[kMG]?B, [0-9.]+[kMG]?B compressed</span>`).MatchString(page) {
		t.Error("the layer size is not shown uncompressed with compressed beside")
	}
	// a failed build shows its error and its failed step's output open
	page, m := renderRecording(t, "base-image")
	if !m.Builds[0].Failed() || !strings.Contains(page, `<pre class="out error">`+template.HTMLEscapeString(m.Builds[0].End.Error)) {
		t.Error("base-image: the failed build's error is not expanded")
	}
}

// buildOnly keeps the events of one build of a trace, as a --trace file of
// that build alone would hold them.
func buildOnly(m *Model, i int) *Model {
	var events []trace.Event
	for _, e := range m.Events {
		if e.Build == m.Builds[i].ID {
			events = append(events, e)
		}
	}
	return NewModel(events)
}

func TestCompareHTML(t *testing.T) {
	m := recordedModel(t, "build-cache")
	var buf bytes.Buffer
	if err := RenderCompareHTML(&buf, buildOnly(m, 0), buildOnly(m, 1), CompareOptions{FirstSource: "first.jsonl", SecondSource: "second.jsonl"}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`data-step="1" data-first="base" data-second="base"`,
		`data-step="2" data-first="miss" data-second="hit" data-second-reason="hit"`,
		`data-step="3" data-first="miss" data-second="miss" data-second-reason="instruction-changed"`,
		`data-step="4" data-first="" data-second="miss" data-second-reason="earlier-miss"`,
		"1 of 4 steps decided differently",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the comparison lacks %s", want)
		}
	}
	if err := RenderCompareHTML(&buf, NewModel(nil), m, CompareOptions{FirstSource: "empty.jsonl"}); err == nil || !strings.Contains(err.Error(), "empty.jsonl: the trace holds no build") {
		t.Errorf("comparing an empty trace: %v", err)
	}
}

// The projector page in a real browser: one slide at a time, the arrow keys
// move, each step has the notes' picture with the trace's IDs; a screenshot
// is left in the test's temp dir.
func TestProjectorInChromium(t *testing.T) {
	bin := chromium(t)
	m := recordedModel(t, "build-cache")
	var buf bytes.Buffer
	if err := RenderHTML(&buf, m, HTMLOptions{Projector: true}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	// (recorded output may mention URLs; nothing may be fetched)
	for _, bad := range []string{`href="http`, `href='http`, "<link", " src=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page refers to something outside itself (%q)", bad)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "slides.html")
	keys := filepath.Join(dir, "keys.html")
	// The same page, with three key presses: right, right, left.
	press := `<script>['ArrowRight','ArrowRight','ArrowLeft'].forEach(function (k) { document.dispatchEvent(new KeyboardEvent('keydown', {key: k})); });</script></body>`
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, []byte(strings.Replace(page, "</body>", press, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var cmp bytes.Buffer
	if err := RenderCompareHTML(&cmp, buildOnly(m, 0), buildOnly(m, 1), CompareOptions{FirstSource: "first.jsonl", SecondSource: "second.jsonl"}); err != nil {
		t.Fatal(err)
	}
	cmpFile := filepath.Join(dir, "cmp.html")
	if err := os.WriteFile(cmpFile, cmp.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "slide-2.png")
	waitCmp := startChromium(t, bin, "--dump-dom", "file://"+cmpFile)
	waitKeys := startChromium(t, bin, "--dump-dom", "file://"+keys)
	waitShot := startChromium(t, bin, "--hide-scrollbars", "--window-size=1600,1000", "--screenshot="+shot, "file://"+file+"#slide-2")
	dom := string(waitKeys())
	waitShot()
	cmpDOM := string(waitCmp())
	if !regexp.MustCompile(`<tr class="row differs" data-step="2" data-first="miss" data-second="hit"`).MatchString(cmpDOM) {
		t.Error("the comparison's DOM does not show step 2 ran first and came from the cache second")
	}
	if n := strings.Count(cmpDOM, `<tr class="row`); n != 4 {
		t.Errorf("the comparison has %d rows, want 4", n)
	}
	if !strings.Contains(dom, `<body data-current="1">`) {
		t.Errorf("after →, →, ← the page is not on slide 1: %s", regexp.MustCompile(`<body[^>]*>`).FindString(dom))
	}
	if n := strings.Count(dom, `class="slide step miss current"`) + strings.Count(dom, `class="slide step base current"`); n != 1 {
		t.Errorf("%d step slides shown, want exactly 1", n)
	}
	// Every step is a slide; a step that ran shows image → container →
	// snapshot → new image with the IDs from the trace.
	s := m.Builds[0].Step(2)
	for _, want := range []string{
		shortID(m.Builds[0].ParentOf(s)), shortID(s.Containers[0].ID()), shortID(s.ResultImage()),
		fmt.Sprintf(`<div class="box snapshot"><div class="t">snapshot</div><div class="n">%d added, %d changed, %d deleted → layer `,
			s.Snapshot.Added, s.Snapshot.Changed, s.Snapshot.Deleted),
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the slide of build 1 step 2 lacks %s", want)
		}
	}
	steps := 0
	for _, b := range m.Builds {
		steps += len(b.Steps)
	}
	if n := strings.Count(dom, `<section class="slide step`); n != steps {
		t.Errorf("%d step slides, want %d", n, steps)
	}
	checkScreenshot(t, shot, 30_000)
}
