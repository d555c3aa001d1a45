package lessons

import (
	"fmt"
	"io"
	"strings"

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
	Reason      string // the builder's reason codes (hit, new-instruction, ...)
	Explanation string
	Made        *CacheRecord // where a hit's image was made
}

// Plan runs the classic builder's cache rules over a Dockerfile against
// the index, executing nothing: a step is cached when its parent image
// (the previous step's image) had this very instruction built on it; after
// the first step that would run, every later step of the stage runs too,
// because its parent would be a new image nothing was ever built on.
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
		from := PlanStep{Number: n, Original: st.From.Original, Instruction: "FROM"}
		parent := ""
		busted := 0
		lower := strings.ToLower(st.Base)
		switch {
		case stageImage[lower] != "":
			parent = stageImage[lower]
			from.Image = parent
			from.Cached = true
			from.Explanation = fmt.Sprintf("the result of stage %s", lower)
		case lower == "scratch":
			from.Cached = true
			from.Explanation = "scratch: an empty base"
		case ix.bases[st.From.Original] != "":
			parent = ix.bases[st.From.Original]
			from.Image = parent
			from.Cached = true
			from.Explanation = fmt.Sprintf("base image %s, as recorded", shortID(parent))
			if ix.Source != "" {
				from.Explanation = fmt.Sprintf("base image %s, as %s used it", shortID(parent), ix.Source)
			}
		default:
			from.Reason = "parent-new"
			from.Explanation = fmt.Sprintf("%s never used `%s`: the base would have to be fetched first, and nothing in %s was built on it", ix.src(), st.From.Original, ix.src())
			busted = n
		}
		out = append(out, from)
		for _, ins := range st.Instructions {
			n++
			ps := PlanStep{Number: n, Original: ins.Original, Instruction: ins.Keyword}
			switch {
			case from.Reason == "parent-new":
				ps.Reason = "parent-new"
				ps.Explanation = "the base is not in " + ix.src() + ", so nothing can be cached on it"
			case busted > 0:
				ps.Reason = "earlier-miss"
				ps.Explanation = fmt.Sprintf("step %d would run, so this step's parent would be a brand-new image that nothing was ever built on: from the first changed step down, every step runs", busted)
			default:
				ix.decide(parent, ins, &ps)
				if ps.Cached {
					parent = ps.Image
				} else {
					busted = n
				}
			}
			out = append(out, ps)
		}
		if st.Name != "" && busted == 0 {
			stageImage[st.Name] = parent
		}
	}
	return out, nil
}

func (ix *CacheIndex) decide(parent string, ins *dockerfile.Instruction, ps *PlanStep) {
	list := ix.byParent[parent]
	for i := range list {
		if list[i].Original == ins.Original {
			rec := list[i]
			ps.Cached, ps.Image, ps.Reason, ps.Made = true, rec.Image, "hit", &rec
			ps.Explanation = fmt.Sprintf("this instruction was built on parent %s before (build %d, step %d): image %s would be reused", shortID(parent), rec.Build, rec.Step, shortID(rec.Image))
			if ins.Keyword == "COPY" || ins.Keyword == "ADD" {
				ps.Explanation += " — if the copied files are unchanged: " + ix.src() + " cannot see your files"
			}
			return
		}
	}
	if len(list) == 0 {
		ps.Reason = "new-instruction"
		ps.Explanation = fmt.Sprintf("nothing was built on parent %s in %s", shortID(parent), ix.src())
		return
	}
	prev := list[len(list)-1]
	ps.Reason = "instruction-changed"
	ps.Explanation = fmt.Sprintf("in %s, parent %s was followed by `%s`; `%s` was never built on it", ix.src(), shortID(parent), prev.Original, ins.Original)
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
