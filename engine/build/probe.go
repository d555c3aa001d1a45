package build

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/opencontainers/go-digest"
)

// Reasons a cache probe gives (trace.CacheInfo.Reason).
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

// probe looks the step up in the cache. On a hit it forwards the cached image
// and returns true. Either way it records a cache.probe event that says why.
func (b *Builder) probe(s *stageState, ins *dockerfile.Instruction, key string, sources map[string]string, res *StepResult) bool {
	parent := s.parentID()
	info := &trace.CacheInfo{Parent: parent.String(), Key: key}
	hit := false
	switch {
	case b.opts.NoCache:
		info.Reason = ReasonNoCache
		info.Explanation = "--no-cache was given, so every step runs"
	case s.pending != "":
		info.Reason = ReasonParentNew
		info.Explanation = fmt.Sprintf("the base image %s is not in the store: it would be pulled first, and this step cannot be judged from the cache until it is (counted as would run)", s.pending)
	case s.busted:
		info.Reason = ReasonEarlierMiss
		info.Explanation = fmt.Sprintf("step %d ran, so this step's parent is a brand-new image that nothing was ever built on: from the first changed step down, every step runs", s.bustedStep)
	default:
		entry, ok := b.store.CacheGet(parent, key, "")
		if ok {
			img, err := b.image(entry.Image)
			if err == nil {
				hit = true
				info.Hit = true
				info.Image = img.ID.String()
				info.Reason = ReasonHit
				info.Explanation = fmt.Sprintf("this instruction was built on parent %s before; reusing image %s", short(parent), img.ShortID())
				s.image = img
				s.config = cloneConfig(img.Config)
				s.ext = cloneExt(img.Ext)
				break
			}
			info.Reason = ReasonImageMissing
			info.Explanation = fmt.Sprintf("image %s built from this instruction before has been removed", short(entry.Image))
			break
		}
		b.explainMiss(parent, ins, key, sources, info)
	}
	b.emit(trace.Event{Type: trace.CacheProbe, Cache: info})
	res.Reason, res.Explanation = info.Reason, info.Explanation
	if hit {
		res.Cached = true
		return true
	}
	res.WouldRun = true
	if !s.busted {
		s.busted = true
		s.bustedStep = b.step
	}
	if b.opts.Explain {
		// Nothing runs, so the step's image stays unknown from here on.
		s.image = nil
	}
	return false
}

// explainMiss compares the key with what was built on the same parent before.
func (b *Builder) explainMiss(parent digest.Digest, ins *dockerfile.Instruction, key string, sources map[string]string, info *trace.CacheInfo) {
	entries, _ := b.store.CacheEntries(parent)
	// Only entries whose image still exists count.
	var live []store.CacheEntry
	for _, e := range entries {
		if _, err := b.image(e.Image); err == nil {
			live = append(live, e)
		}
	}
	if len(live) == 0 {
		info.Reason = ReasonNewInstruction
		if parent == "" {
			info.Explanation = "nothing has been built on an empty (scratch) base yet"
		} else {
			info.Explanation = fmt.Sprintf("nothing has been built on parent %s yet", short(parent))
		}
		return
	}
	// A COPY or ADD to the same place whose sources changed.
	if sources != nil {
		prefix := copyKeyPrefix(key)
		for _, e := range live {
			if e.Sources != nil && copyKeyPrefix(e.Key) == prefix {
				changed := changedFiles(e.Sources, sources)
				info.Reason = ReasonSourceChanged
				info.Previous = e.Original
				info.Files = changed
				if len(changed) == 0 {
					info.Explanation = fmt.Sprintf("the files copied differ from last time on parent %s", short(parent))
				} else {
					info.Explanation = fmt.Sprintf("a %s source changed since it was last built on parent %s: %s", ins.Keyword, short(parent), strings.Join(changed, ", "))
				}
				return
			}
		}
	}
	prev := live[0]
	info.Reason = ReasonInstructionChanged
	info.Previous = prev.Original
	if prev.Original != "" {
		info.Explanation = fmt.Sprintf("last time, parent %s was followed by `%s`; now the instruction is `%s`, which was never built on it", short(parent), prev.Original, ins.Original)
	} else {
		info.Explanation = fmt.Sprintf("no image was built from parent %s with this instruction yet", short(parent))
	}
}

// copyKeyPrefix is a COPY/ADD key without its checksum: "COPY in /app".
func copyKeyPrefix(key string) string {
	fields := strings.Fields(key)
	var out []string
	for _, f := range fields {
		if strings.HasPrefix(f, "file:") || strings.HasPrefix(f, "dir:") || strings.HasPrefix(f, "multi:") {
			continue
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}

// changedFiles names the paths whose checksum differs, was added or removed.
func changedFiles(before, after map[string]string) []string {
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

func short(d digest.Digest) string {
	if d == "" {
		return "scratch"
	}
	return trace.ShortID(d.String())
}

// image finds an image by ID: from the build's own map, else one image read
// from the store (never a listing of the whole store: a cached rebuild
// probes every step, and a store holds every intermediate image).
func (b *Builder) image(id digest.Digest) (*store.Image, error) {
	if img, ok := b.images[id]; ok {
		return img, nil
	}
	// Not added to b.images: a cached chain of N steps would keep N configs
	// of up to N entries each.
	return b.store.Image(id.String())
}
