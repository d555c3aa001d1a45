package lessons

import (
	"strings"
	"testing"

	"github.com/berthkit/berth/engine/build/cache"
	"github.com/berthkit/berth/trace/view"
)

// The what-if's verdicts are cache.Decide's: a --no-cache plan runs every
// step after FROM with the builder's words, and a hit names where the
// recording made its image.
func TestPlanUsesTheBuildersDecision(t *testing.T) {
	events, err := Recording("build-cache")
	if err != nil {
		t.Fatal(err)
	}
	ix := IndexTrace(view.NewModel(events))
	v := &vars{base: baseProfiles["debian"]}
	content, _ := v.expand("FROM debian\nRUN {{install redis}}\nCMD [\"redis-server\"]\n")

	plan, err := ix.Plan([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	if hit := plan[1]; !hit.Cached || hit.Reason != cache.ReasonHit || hit.Made == nil || hit.Image != hit.Made.Image ||
		!strings.Contains(hit.Explanation, "before (build ") || !strings.HasSuffix(hit.Explanation, "would be reused") {
		t.Errorf("step 2: %+v", hit)
	}

	ix.NoCache = true
	plan, err = ix.Plan([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	if !plan[0].Cached {
		t.Errorf("FROM of a recorded base: %+v", plan[0])
	}
	for _, s := range plan[1:] {
		if s.Cached || s.Reason != cache.ReasonNoCache || s.Explanation != "--no-cache was given, so every step runs" {
			t.Errorf("step %d with --no-cache: %+v", s.Number, s)
		}
	}
}
