package lessons

import (
	"bytes"
	"strings"
	"testing"

	"github.com/berthkit/berth/trace/view"
)

func recordedModel(t *testing.T, lesson string) *view.Model {
	t.Helper()
	events, err := Recording(lesson)
	if err != nil {
		t.Fatal(err)
	}
	return view.NewModel(events)
}

func TestWhatIf(t *testing.T) {
	ix := IndexTrace(recordedModel(t, "build-cache"))
	v := &vars{base: baseProfiles["debian"]}
	df := func(lines ...string) []byte {
		s, _ := v.expand(strings.Join(lines, "\n") + "\n")
		return []byte(s)
	}
	type verdict struct {
		cached bool
		reason string
	}
	for _, tc := range []struct {
		name string
		file []byte
		want []verdict
	}{
		{"the notes' Dockerfile", df("FROM debian", "RUN {{install redis}}", `CMD ["redis-server"]`),
			[]verdict{{true, ""}, {true, "hit"}, {true, "hit"}}},
		{"a new last line", df("FROM debian", "RUN {{install redis}}", "RUN {{install gcc}}", `CMD ["redis-server", "--port", "7000"]`),
			[]verdict{{true, ""}, {true, "hit"}, {true, "hit"}, {false, "instruction-changed"}}},
		{"a new first line", df("FROM debian", "RUN echo hello", "RUN {{install redis}}"),
			[]verdict{{true, ""}, {false, "instruction-changed"}, {false, "earlier-miss"}}},
		{"another base", df("FROM alpine", "RUN {{install redis}}"),
			[]verdict{{false, "parent-new"}, {false, "parent-new"}}},
	} {
		plan, err := ix.Plan(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) != len(tc.want) {
			t.Fatalf("%s: %d steps", tc.name, len(plan))
		}
		for i, w := range tc.want {
			if plan[i].Cached != w.cached || plan[i].Reason != w.reason {
				t.Errorf("%s step %d: cached=%v reason=%q, want %v %q (%s)", tc.name, i+1, plan[i].Cached, plan[i].Reason, w.cached, w.reason, plan[i].Explanation)
			}
		}
	}
	plan, _ := ix.Plan(df("FROM debian", "RUN {{install redis}}", "RUN echo new"))
	var out bytes.Buffer
	RenderPlan(&out, plan, view.Style{})
	if !strings.HasSuffix(out.String(), "1 cached, 1 would run\n") || !strings.Contains(out.String(), "would run (instruction-changed)") {
		t.Errorf("plan:\n%s", out.String())
	}
	if _, err := ix.Plan([]byte("RUN x\n")); err == nil {
		t.Error("a Dockerfile without FROM should not plan")
	}
}

func TestClaimsOnRecordedTraces(t *testing.T) {
	m := recordedModel(t, "build-process")
	check := func(text, value string) ClaimResult {
		t.Helper()
		words, _ := splitWords(text)
		c, err := parseClaim(words)
		if err != nil {
			t.Fatal(err)
		}
		if value == "" {
			value = c.Value
		}
		return c.Check(m, value)[0]
	}
	for _, tc := range []struct {
		claim, value string
		ok           bool
		says         string
	}{
		{"step 2 ran", "", true, "step 2 ran (cache miss: new-instruction)"},
		{"step 2 cached", "", false, "step 2 was expected to come from the cache, but it ran (cache miss: new-instruction): nothing has been built on parent"},
		{"step 3 container never-started", "", true, "was created but never started"},
		{"step 2 container never-started", "", false, "was started, but the notes say"},
		{"step 3 layer added", "", false, "expected to add a layer, but it changed no files"},
		{"step 9 ran", "", false, "build 1 has no step 9"},
		{"build failed", "", false, "expected to fail, but it succeeded"},
		{`image cmd '["sh"]'`, "", false, `has CMD ["redis-server"], not ["sh"]`},
		{"snapshot adds gcc", "", false, "did not add gcc"},
		{"tag rommelrico/redis:latest", "", false, "did not tag rommelrico/redis:latest (tags: (none))"},
		{"run exit 0", "", false, "no container was run"},
		{"result step 2", "", false, "is not step 2's image"},
	} {
		res := check(tc.claim, tc.value)
		if res.OK != tc.ok || !strings.Contains(res.Says, tc.says) {
			t.Errorf("expect %s: ok=%v %q, want ok=%v containing %q", tc.claim, res.OK, res.Says, tc.ok, tc.says)
		}
	}
}
