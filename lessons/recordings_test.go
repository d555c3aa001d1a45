package lessons

import (
	"bytes"
	"context"
	"path"
	"strings"
	"testing"

	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
)

// Every embedded recording must parse: a recording that no longer parses
// fails the build.
func TestEmbeddedRecordingsParse(t *testing.T) {
	files := RecordingFiles()
	if len(files) == 0 {
		t.Fatal("no recordings are embedded: run make lessons-record")
	}
	for _, f := range files {
		data, err := recordingsFS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		events, err := trace.Read(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s does not parse: %v", f, err)
			continue
		}
		name, base, engine, _, err := view.ReadHeader(events)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if want := strings.TrimSuffix(path.Base(f), ".jsonl"); name != want {
			t.Errorf("%s records lesson %q", f, name)
		}
		if _, err := Profile(base); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !strings.HasPrefix(engine, "berth ") {
			t.Errorf("%s: engine %q", f, engine)
		}
		for i, e := range events {
			if e.Version != trace.SchemaVersion {
				t.Errorf("%s line %d: schema version %d", f, i+1, e.Version)
			}
			if i > 0 && e.Seq <= events[i-1].Seq {
				t.Errorf("%s line %d: seq %d after %d", f, i+1, e.Seq, events[i-1].Seq)
			}
		}
		// Written back, a recording is byte for byte what was read.
		out, err := EncodeEvents(events)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, data) {
			t.Errorf("%s does not round-trip through trace.Read and trace.Writer", f)
		}
	}
}

// Every lesson replays its recording with every claim holding and every
// annotation finding its event.
func TestEveryLessonReplays(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 9 {
		t.Fatalf("%d lessons, want one per section of the notes (9)", len(all))
	}
	for _, l := range all {
		t.Run(l.Name, func(t *testing.T) {
			events, err := Recording(l.Name)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep, err := Run(context.Background(), l, Options{Mode: Replay, Recording: events, RecordingName: l.Name, Out: &out})
			if err != nil {
				t.Fatalf("replay: %v\n%s", err, out.String())
			}
			if len(rep.Claims) == 0 {
				t.Error("the lesson checks nothing")
			}
			if rep.Failed() != 0 {
				t.Errorf("%d claims failed", rep.Failed())
			}
			if len(rep.Unmatched) > 0 {
				t.Errorf("annotations without an event in the recording: %s", strings.Join(rep.Unmatched, "; "))
			}
			text := out.String()
			for _, want := range []string{"REPLAY: this is a replay of builds recorded", "Nothing runs on this machine", "End of lesson " + l.Name} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if strings.Contains(text, "{{") {
				t.Errorf("a placeholder was left unexpanded:\n%s", text)
			}
		})
	}
}

// The lessons follow the sections of the notes, in order.
func TestLessonsFollowTheNotes(t *testing.T) {
	want := []string{"Creating Docker Images", "Building a Dockerfile", "Dockerfile Teardown", "What's a Base Image",
		"The Build Process in Detail", "A Brief Recap", "Rebuilds with Cache", "Tagging an Image",
		"Manual Image Generation with Docker Commit"}
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range all {
		if i >= len(want) || l.Notes != want[i] {
			t.Errorf("lesson %d (%s) follows %q", i+1, l.Name, l.Notes)
		}
		if l.Duration == "" || l.Needs == "" || l.Title == "" {
			t.Errorf("lesson %s lacks a title, duration or needs", l.Name)
		}
		for _, base := range BaseNames() {
			if len(l.EngineActions(base, "")) == 0 {
				t.Errorf("lesson %s runs nothing on base %s", l.Name, base)
			}
		}
	}
}

// The planner, given each recorded build's Dockerfile and the cache as it
// was before that build, predicts exactly what the engine did.
func TestPlannerPredictsRecordedBuilds(t *testing.T) {
	checked := 0
	for _, f := range RecordingFiles() {
		name := strings.TrimSuffix(path.Base(f), ".jsonl")
		events, err := Recording(name)
		if err != nil {
			t.Fatal(err)
		}
		full := view.NewModel(events)
		for _, b := range full.Builds {
			if b.Failed() || (b.Start != nil && b.Start.NoCache) {
				continue
			}
			// The cache before this build: the events of the builds before it.
			var before []trace.Event
			for _, e := range events {
				if e.Type == trace.BuildStart && e.Build == b.ID {
					break
				}
				before = append(before, e)
			}
			var lines []string
			for _, s := range b.Steps {
				lines = append(lines, s.Info.Original)
			}
			plan, err := IndexTrace(view.NewModel(before)).Plan([]byte(strings.Join(lines, "\n") + "\n"))
			if err != nil {
				t.Fatalf("%s build %d: %v", name, b.Index, err)
			}
			for i, s := range b.Steps {
				if s.Info.Instruction == "FROM" {
					continue
				}
				p := plan[i]
				if p.Cached != s.Cached() {
					t.Errorf("%s build %d step %d: planner says cached=%v (%s), the engine did cached=%v", name, b.Index, s.Number(), p.Cached, p.Reason, s.Cached())
				}
				if p.Cached && p.Image != s.ResultImage() {
					t.Errorf("%s build %d step %d: planner reuses %s, the engine %s", name, b.Index, s.Number(), p.Image, s.ResultImage())
				}
				if !p.Cached && s.Probe != nil && plan[0].Reason != "parent-new" && p.Reason != s.Probe.Reason {
					t.Errorf("%s build %d step %d: planner reason %s, the engine's %s", name, b.Index, s.Number(), p.Reason, s.Probe.Reason)
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d steps checked", checked)
	}
}
