package lessons

import (
	"fmt"
	"io"
	"strings"

	"github.com/berthkit/berth/engine/build/cache"
	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/trace/view"
)

// CacheIndex is the build cache as a trace saw it: for each parent image,
// the instructions built on it and the image each produced, plus the base
// images FROM lines resolved to. The classic builder's key is (parent
// image, instruction); a step built on the same parent with the same
// instruction text has the same key.
type CacheIndex struct {
	byParent map[string][]CacheRecord
	bases    map[string]string // FROM line as written -> image
	// Source names the trace in explanations; "" is "the recording".
	Source string
	// NoCache plans a `build --no-cache`: every step runs.
	NoCache bool
}

func (ix *CacheIndex) src() string {
	if ix.Source == "" {
		return "the recording"
	}
	return ix.Source
}

// CacheRecord is one (parent, instruction) -> image entry seen in a trace.
type CacheRecord struct {
	Parent   string
	Original string // the instruction as written
	Key      string // the builder's recorded key
	Image    string
	Build    int // where it was made or reused: build index
	Step     int
}

// IndexTrace collects the cache entries every build of the model made or
// reused, in the order they happened.
func IndexTrace(m *view.Model) *CacheIndex {
	ix := &CacheIndex{byParent: map[string][]CacheRecord{}, bases: map[string]string{}}
	for _, b := range m.Builds {
		for _, s := range b.Steps {
			img := s.ResultImage()
			if img == "" || s.Failed() {
				continue
			}
			if s.Info.Instruction == "FROM" {
				ix.bases[s.Info.Original] = img
				continue
			}
			if s.Probe == nil {
				continue
			}
			parent := s.Probe.Parent
			rec := CacheRecord{Parent: parent, Original: s.Info.Original, Key: s.Probe.Key, Image: img, Build: b.Index, Step: s.Number()}
			list := ix.byParent[parent]
			replaced := false
			for i := range list {
				if list[i].Original == rec.Original {
					// A reuse keeps the record of where the image was made;
					// a new image for the same key (after --no-cache) replaces it.
					if list[i].Image != rec.Image {
						list[i] = rec
					}
					replaced = true
				}
			}
			if !replaced {
				list = append(list, rec)
			}
			ix.byParent[parent] = list
		}
	}
	return ix
}

// PlanStep is the planner's verdict on one step.
type PlanStep struct {
	Number      int
	Original    string
	Instruction string
	Cached      bool
	Image       string // the image a hit would reuse, or the base
	Reason      string // cache.Decide's reason codes (hit, new-instruction, ...)
	Explanation string
	Made        *CacheRecord // where a hit's image was made
}

// Plan runs the classic builder's cache rules (cache.Decide, the builder's
// own) over a Dockerfile against the index, executing nothing: a step is
// cached when its parent image (the previous step's image) had this very
// instruction built on it; after the first step that would run, every
// later step of the stage runs too, because its parent would be a new image
// nothing was ever built on.
func (ix *CacheIndex) Plan(content []byte) ([]PlanStep, error) {
	df, err := dockerfile.Parse(strings.NewReader(string(content)), "Dockerfile")
	if err != nil {
		return nil, err
	}
	var out []PlanStep
	stageImage := map[string]string{}
	n := 0
	for _, st := range df.Stages {
		n++
		from, parent := ix.planFrom(st, stageImage, n)
		out = append(out, from)
		busted := 0
		if from.Reason == cache.ReasonParentNew {
			busted = n
		}
		for _, ins := range st.Instructions {
			n++
			ps := PlanStep{Number: n, Original: ins.Original, Instruction: ins.Keyword}
			in := cache.Input{Parent: parent, Keyword: ins.Keyword, Original: ins.Original, Key: ins.Original,
				NoCache: ix.NoCache, MissedAt: busted, Recording: ix.src()}
			if from.Reason == cache.ReasonParentNew {
				in.PendingBase = st.Base
			}
			ix.decide(in, &ps)
			if ps.Cached {
				parent = ps.Image
			} else if busted == 0 {
				busted = n
			}
			out = append(out, ps)
		}
		if st.Name != "" && busted == 0 {
			stageImage[st.Name] = parent
		}
	}
	return out, nil
}

// planFrom resolves a stage's base as the recording saw it: an earlier
// stage, scratch, or a base image a FROM line resolved to.
func (ix *CacheIndex) planFrom(st *dockerfile.Stage, stageImage map[string]string, n int) (PlanStep, string) {
	from := PlanStep{Number: n, Original: st.From.Original, Instruction: "FROM"}
	lower := strings.ToLower(st.Base)
	switch {
	case stageImage[lower] != "":
		from.Image, from.Cached = stageImage[lower], true
		from.Explanation = fmt.Sprintf("the result of stage %s", lower)
	case lower == "scratch":
		from.Cached = true
		from.Explanation = "scratch: an empty base"
	case ix.bases[st.From.Original] != "":
		from.Image, from.Cached = ix.bases[st.From.Original], true
		from.Explanation = fmt.Sprintf("base image %s, as recorded", shortID(from.Image))
		if ix.Source != "" {
			from.Explanation = fmt.Sprintf("base image %s, as %s used it", shortID(from.Image), ix.Source)
		}
	default:
		from.Reason = cache.ReasonParentNew
		from.Explanation = fmt.Sprintf("%s never used `%s`: the base would have to be fetched first, and nothing in %s was built on it", ix.src(), st.From.Original, ix.src())
	}
	return from, from.Image
}

// decide gives cache.Decide what the recording built on the parent,
// newest first, and fills the step from its decision.
func (ix *CacheIndex) decide(in cache.Input, ps *PlanStep) {
	list := ix.byParent[in.Parent]
	for i := len(list) - 1; i >= 0; i-- {
		r := list[i]
		in.Candidates = append(in.Candidates, cache.Entry{Key: r.Original, Original: r.Original, Image: r.Image, Build: r.Build, Step: r.Step})
	}
	d := cache.Decide(in)
	ps.Cached, ps.Reason, ps.Explanation = d.Hit, d.Reason, d.Explanation
	if d.Hit {
		for i := range in.Candidates {
			if &in.Candidates[i] == d.Entry {
				rec := list[len(list)-1-i]
				ps.Image, ps.Made = rec.Image, &rec
			}
		}
	}
}

// RenderPlan prints a plan the way `berth build --explain` does.
func RenderPlan(w io.Writer, plan []PlanStep, st view.Style) {
	cached, would := 0, 0
	total := len(plan)
	for _, s := range plan {
		fmt.Fprintf(w, "Step %d/%d : %s\n", s.Number, total, s.Original)
		switch {
		case s.Instruction == "FROM" && s.Cached:
			fmt.Fprintf(w, "  %s\n", s.Explanation)
		case s.Instruction == "FROM":
			fmt.Fprintf(w, "  %s %s\n", st.Fail("would fetch:"), s.Explanation)
		case s.Cached:
			cached++
			fmt.Fprintf(w, "  %s → image %s: %s\n", st.OK("cached"), shortID(s.Image), s.Explanation)
		default:
			would++
			fmt.Fprintf(w, "  %s (%s): %s\n", st.Fail("would run"), s.Reason, s.Explanation)
		}
	}
	fmt.Fprintf(w, "%d cached, %d would run\n", cached, would)
}
