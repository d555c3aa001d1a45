package lessons

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
)

// Asker reads the attendee's answer to a quiz question, one line. ok is
// false when the input ended (nobody is answering).
type Asker func(ctx context.Context) (answer string, ok bool)

// quizTries is how many unreadable answers the quiz takes before it goes on
// without a guess.
const quizTries = 3

// quizRound is one "predict, then watch": the attendee's guess and the
// builder's own prediction for a rebuild.
type quizRound struct {
	guess map[int]bool // step numbers the attendee expects from the cache
	plan  []PlanStep
	// builds counts the builds before this one, so the check afterwards
	// knows whether this build happened at all.
	builds int
}

// quiz asks, before a rebuild, which steps will come from the cache, then
// checks the guess against the builder's cache rules (what `berth build
// --explain` would say). The returned func, run after the build, checks
// guess and prediction against what the build (or the recording) really
// did. It returns nil when there is nothing to ask: no quiz, not a build, or
// a first build (nothing is cached yet, so there is nothing to predict).
func (r *runner) quiz(ctx context.Context, b Block, args []string) func() {
	if r.opts.Quiz == nil || b.Action != "build" || len(r.narr.Model().Builds) == 0 {
		return nil
	}
	spec, err := parseBuild(args)
	if err != nil {
		return nil
	}
	name := spec.Dockerfile
	if name == "" {
		name = "Dockerfile"
	}
	content, ok := r.files[filepath.ToSlash(filepath.Join(spec.Context, name))]
	if !ok {
		return nil
	}
	ix := IndexTrace(r.narr.Model())
	if r.opts.Mode == Live {
		ix.Source = "this lesson's builds"
	}
	ix.NoCache = spec.NoCache
	plan, err := ix.Plan([]byte(content))
	if err != nil {
		return nil
	}
	q := &quizRound{plan: plan, builds: len(r.narr.Model().Builds)}
	r.printf("\n%s\n", r.st.Heading("Predict, then watch"))
	for _, s := range plan {
		r.printf("  Step %d/%d : %s\n", s.Number, len(plan), s.Original)
	}
	guess, answered := r.askGuess(ctx, len(plan))
	if !answered {
		r.printf("No answer: watching without a guess.\n")
		return nil
	}
	q.guess = guess
	r.printf("You said from the cache: %s\n", stepList(guess))
	r.printf("\n%s\n", r.st.Cmd("$ berth build --explain "+shellJoin(args)))
	RenderPlan(r.out, plan, r.st)
	var numbers []int
	for _, s := range plan {
		numbers = append(numbers, s.Number)
	}
	r.compareGuess(q.guess, numbers, func(n int) (bool, string) { return planCached(plan, n) }, "berth build --explain", false)
	return func() { r.quizAfter(q) }
}

// askGuess reads step numbers until one answer parses.
func (r *runner) askGuess(ctx context.Context, steps int) (map[int]bool, bool) {
	for try := 0; try < quizTries; try++ {
		r.printf("Which steps will come from the cache? Type their numbers (e.g. 1 2), or Enter for none: ")
		line, ok := r.opts.Quiz(ctx)
		r.out.EndLine()
		if !ok {
			return nil, false
		}
		guess, err := parseGuess(line, steps)
		if err == nil {
			return guess, true
		}
		r.printf("%s %v\n", r.st.Warning("?"), err)
	}
	return nil, false
}

// parseGuess reads "1 2", "1,2" or "1-2" as step numbers 1..steps.
func parseGuess(line string, steps int) (map[int]bool, error) {
	guess := map[int]bool{}
	for _, f := range strings.FieldsFunc(line, func(c rune) bool { return c == ' ' || c == ',' || c == '\t' }) {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 1 || b > steps || a > b {
			return nil, fmt.Errorf("%q is not a step number: type numbers from 1 to %d, like 1 2", f, steps)
		}
		for n := a; n <= b; n++ {
			guess[n] = true
		}
	}
	return guess, nil
}

// compareGuess says, step by step, where the guess and truth (from the
// named source) disagree, with truth's reason.
func (r *runner) compareGuess(guess map[int]bool, steps []int, truth func(n int) (bool, string), source string, past bool) {
	var diffs []string
	for _, s := range steps {
		cached, why := truth(s)
		if cached == guess[s] {
			continue
		}
		said, is := "would run", "would come from the cache"
		if past {
			is = "came from the cache"
		}
		if guess[s] {
			said, is = "would come from the cache", "would run"
			if past {
				is = "ran"
			}
		}
		diffs = append(diffs, fmt.Sprintf("  step %d: you said it %s; it %s: %s", s, said, is, why))
	}
	if len(diffs) == 0 {
		r.printf("%s your guess matches %s\n", r.st.OK("✓"), source)
		return
	}
	r.printf("%s your guess differs from %s:\n%s\n", r.st.Fail("✗"), source, strings.Join(diffs, "\n"))
}

// quizAfter checks the guess and the prediction against the real build.
func (r *runner) quizAfter(q *quizRound) {
	b := r.narr.Model().LastBuild()
	if len(r.narr.Model().Builds) <= q.builds || b.End == nil {
		return
	}
	source := "the build"
	if r.opts.Mode == Replay {
		source = "the recorded build"
	}
	actual := func(n int) (bool, string) { return stepCached(r.narr.Model(), b, n) }
	r.printf("\n%s\n", r.st.Heading("Your guess, and what happened"))
	var numbers []int
	for _, s := range b.Steps {
		numbers = append(numbers, s.Number())
	}
	r.compareGuess(q.guess, numbers, actual, source, true)
	var off []string
	for _, s := range b.Steps {
		real, why := actual(s.Number())
		if predicted, _ := planCached(q.plan, s.Number()); predicted != real {
			off = append(off, fmt.Sprintf("  step %d: --explain predicted %s, but %s: %s", s.Number(), cachedWord(predicted), cachedWord(real), why))
		}
	}
	if len(off) > 0 {
		r.printf("%s --explain and %s disagree (it judges COPY by its text only, and cannot see a base it never pulled):\n%s\n",
			r.st.Warning("!"), source, strings.Join(off, "\n"))
	}
}

func cachedWord(cached bool) string {
	if cached {
		return "from the cache"
	}
	return "ran"
}

// planCached says whether the plan has step n from the cache, and why.
func planCached(plan []PlanStep, n int) (bool, string) {
	for _, s := range plan {
		if s.Number == n {
			why := s.Explanation
			if s.Reason != "" && s.Reason != "hit" {
				why = s.Reason + ": " + why
			}
			return s.Cached, why
		}
	}
	return false, "the Dockerfile has no such step"
}

// stepCached says whether step n of build b came from the cache, with the
// builder's reason. A FROM step counts as cached when its base was already
// in the store (nothing was pulled during the build).
func stepCached(m *view.Model, b *view.BuildModel, n int) (bool, string) {
	s := b.Step(n)
	if s == nil || s.End == nil {
		return false, "the build never reached it"
	}
	if s.Info.Instruction == "FROM" {
		for _, e := range m.Events {
			if e.Type == trace.PullStart && e.Build == b.ID {
				return false, "the base was not in the store: it was pulled"
			}
		}
		if s.Failed() {
			return false, s.End.Error
		}
		return true, fmt.Sprintf("the base %s was already in the store", shortID(s.ResultImage()))
	}
	if s.Probe == nil {
		return s.Cached(), "no cache decision was recorded"
	}
	why := s.Probe.Explanation
	if s.Probe.Reason != "" && s.Probe.Reason != "hit" {
		why = s.Probe.Reason + ": " + why
	}
	return s.Cached(), why
}

// stepList prints a guess as "1 2" ("none" when empty).
func stepList(g map[int]bool) string {
	var ns []int
	for n := range g {
		ns = append(ns, n)
	}
	if len(ns) == 0 {
		return "none"
	}
	sort.Ints(ns)
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, " ")
}
