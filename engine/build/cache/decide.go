package cache

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berthkit/berth/trace"
)

// Reasons a decision gives (trace.CacheInfo.Reason): stable codes, with the
// explanation in plain words beside them.
const (
	ReasonHit                = "hit"
	ReasonNoCache            = "no-cache"
	ReasonEarlierMiss        = "earlier-miss"
	ReasonNewInstruction     = "new-instruction"
	ReasonInstructionChanged = "instruction-changed"
	ReasonSourceChanged      = "source-changed"
	ReasonParentNew          = "parent-new"
	ReasonImageMissing       = "image-missing"
)

// Entry is a step built before on the parent: from the store's cache, or
// seen in a recorded trace.
type Entry struct {
	Key      string
	Original string // the instruction as written ("RUN make")
	Image    string
	// Sources are a COPY or ADD's content checksums by path (nil for other
	// steps), so a miss can name the file that changed.
	Sources map[string]string
	// Gone says the entry's image was removed since.
	Gone bool
	// Build and Step say where a recording made the image (0 in the store).
	Build, Step int
}

// UnknownSource is a COPY --from whose files --explain cannot know.
type UnknownSource struct {
	From string // the --from value
	// NotStored: an image that would be pulled. Otherwise a stage that
	// starts from PendingBase (to be pulled) or is rebuilt from step
	// RebuiltFrom.
	NotStored   bool
	PendingBase string
	RebuiltFrom int
}

// Input is everything a decision depends on.
type Input struct {
	Parent   string // the parent image's ID; "" for scratch
	Keyword  string // RUN, COPY, ...
	Original string
	Key      string
	// Sums are a COPY or ADD's content checksums (nil for other steps).
	Sums    map[string]string
	NoCache bool
	// PendingBase is a base image that is not there yet: nothing built on
	// it can be judged.
	PendingBase string
	// MissedAt is the step of the stage that missed before (0: none): its
	// image is new, so nothing after it can hit.
	MissedAt int
	Unknown  *UnknownSource
	// Candidates are the entries built on Parent, newest first: the one
	// under Key if there is one, and the newest others (for a COPY or ADD,
	// the newest of its group too).
	Candidates []Entry
	// Recording names the trace the candidates come from ("the recording"),
	// which words the decision as a what-if; "" is the store, now.
	Recording string
}

// Decision is hit or miss, and why.
type Decision struct {
	Hit    bool
	Reason string
	// Entry is the entry the decision rests on: the hit, the removed image,
	// or the build the instruction is compared with.
	Entry       *Entry
	Explanation string
	// Previous and Files say what changed: the instruction built last time,
	// and a COPY's changed files.
	Previous string
	Files    []string
}

// Decide applies the classic builder's cache rules to one step. It reads
// nothing: the caller passes what it found.
func Decide(in Input) Decision {
	switch {
	case in.NoCache:
		return Decision{Reason: ReasonNoCache, Explanation: "--no-cache was given, so every step runs"}
	case in.PendingBase != "":
		return Decision{Reason: ReasonParentNew, Explanation: in.parentNewWords()}
	case in.MissedAt > 0:
		return Decision{Reason: ReasonEarlierMiss, Explanation: in.earlierMissWords()}
	case in.Unknown != nil:
		return Decision{Reason: ReasonSourceChanged, Explanation: in.Unknown.words()}
	}
	for i := range in.Candidates {
		if e := &in.Candidates[i]; e.Key == in.Key {
			if e.Gone {
				return Decision{Reason: ReasonImageMissing, Entry: e,
					Explanation: fmt.Sprintf("image %s built from this instruction before has been removed", Short(e.Image))}
			}
			return Decision{Hit: true, Reason: ReasonHit, Entry: e, Explanation: in.hitWords(e)}
		}
	}
	newest, sameCopy := in.previous()
	switch {
	case newest == nil:
		return Decision{Reason: ReasonNewInstruction, Explanation: in.newWords()}
	case sameCopy != nil:
		files := ChangedFiles(sameCopy.Sources, in.Sums)
		return Decision{Reason: ReasonSourceChanged, Entry: sameCopy, Previous: sameCopy.Original, Files: files,
			Explanation: in.sourceWords(files)}
	}
	return Decision{Reason: ReasonInstructionChanged, Entry: newest, Previous: newest.Original,
		Explanation: in.changedWords(newest)}
}

// previous finds the newest entry whose image still exists and, for a COPY
// or ADD, the newest of the same COPY (same key but for the checksums).
func (in Input) previous() (newest, sameCopy *Entry) {
	group := Group(in.Key, in.Sums)
	for i := range in.Candidates {
		e := &in.Candidates[i]
		if e.Gone {
			continue
		}
		if newest == nil {
			newest = e
		}
		if group != "" && sameCopy == nil && e.Sources != nil && copyGroup(e.Key) == group {
			sameCopy = e
		}
	}
	return newest, sameCopy
}

func (in Input) parentNewWords() string {
	if in.Recording != "" {
		return "the base is not in " + in.Recording + ", so nothing can be cached on it"
	}
	return fmt.Sprintf("the base image %s is not in the store: it would be pulled first, and this step cannot be judged from the cache until it is (counted as would run)", in.PendingBase)
}

func (in Input) earlierMissWords() string {
	if in.Recording != "" {
		return fmt.Sprintf("step %d would run, so this step's parent would be a brand-new image that nothing was ever built on: from the first changed step down, every step runs", in.MissedAt)
	}
	return fmt.Sprintf("step %d ran, so this step's parent is a brand-new image that nothing was ever built on: from the first changed step down, every step runs", in.MissedAt)
}

func (u *UnknownSource) words() string {
	switch {
	case u.NotStored:
		return fmt.Sprintf("image %s is not in the store: it would be pulled, and the files copied from it", u.From)
	case u.PendingBase != "":
		return fmt.Sprintf("stage %s starts from %s, which would be pulled: what it copies from that stage is not known until it is built", u.From, u.PendingBase)
	}
	return fmt.Sprintf("stage %s would be rebuilt from step %d: what it copies from that stage is not known until it is built", u.From, u.RebuiltFrom)
}

func (in Input) hitWords(e *Entry) string {
	if in.Recording == "" {
		return fmt.Sprintf("this instruction was built on parent %s before; reusing image %s", Short(in.Parent), Short(e.Image))
	}
	words := fmt.Sprintf("this instruction was built on parent %s before (build %d, step %d): image %s would be reused", Short(in.Parent), e.Build, e.Step, Short(e.Image))
	if in.Keyword == "COPY" || in.Keyword == "ADD" {
		words += " — if the copied files are unchanged: " + in.Recording + " cannot see your files"
	}
	return words
}

func (in Input) newWords() string {
	switch {
	case in.Recording != "":
		return fmt.Sprintf("nothing was built on parent %s in %s", Short(in.Parent), in.Recording)
	case in.Parent == "":
		return "nothing has been built on an empty (scratch) base yet"
	}
	return fmt.Sprintf("nothing has been built on parent %s yet", Short(in.Parent))
}

func (in Input) sourceWords(files []string) string {
	if len(files) == 0 {
		return fmt.Sprintf("the files copied differ from last time on parent %s", Short(in.Parent))
	}
	return fmt.Sprintf("a %s source changed since it was last built on parent %s: %s", in.Keyword, Short(in.Parent), strings.Join(files, ", "))
}

func (in Input) changedWords(prev *Entry) string {
	switch {
	case in.Recording != "":
		return fmt.Sprintf("in %s, parent %s was followed by `%s`; `%s` was never built on it", in.Recording, Short(in.Parent), prev.Original, in.Original)
	case prev.Original == "":
		return fmt.Sprintf("no image was built from parent %s with this instruction yet", Short(in.Parent))
	}
	return fmt.Sprintf("last time, parent %s was followed by `%s`; now the instruction is `%s`, which was never built on it", Short(in.Parent), prev.Original, in.Original)
}

// ChangedFiles names the paths whose checksum differs, was added or
// removed: at most ten, then how many more.
func ChangedFiles(before, after map[string]string) []string {
	var out []string
	for p, sum := range after {
		if before[p] != sum {
			out = append(out, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			out = append(out, p+" (removed)")
		}
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("and %d more", len(out)-10))
	}
	return out
}

// Short is an image ID as explanations show it: 12 hex digits, or
// "scratch" for the empty base.
func Short(id string) string {
	if id == "" {
		return "scratch"
	}
	return trace.ShortID(id)
}
