package build

import (
	"github.com/berthkit/berth/engine/build/cache"
	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
	"github.com/opencontainers/go-digest"
)

// Reasons a cache probe gives (trace.CacheInfo.Reason); cache.Decide gives
// them, these name them for the builder's callers.
const (
	ReasonHit                = cache.ReasonHit
	ReasonNoCache            = cache.ReasonNoCache
	ReasonEarlierMiss        = cache.ReasonEarlierMiss
	ReasonNewInstruction     = cache.ReasonNewInstruction
	ReasonInstructionChanged = cache.ReasonInstructionChanged
	ReasonSourceChanged      = cache.ReasonSourceChanged
	ReasonParentNew          = cache.ReasonParentNew
	ReasonImageMissing       = cache.ReasonImageMissing
)

// probe looks the step up in the cache: it gathers what the store holds on
// the parent and lets cache.Decide judge. On a hit it forwards the cached
// image and returns true. Either way it records a cache.probe event that
// says why.
func (b *Builder) probe(s *stageState, ins *dockerfile.Instruction, key string, sources map[string]string, res *StepResult) bool {
	return b.decide(s, ins, key, sources, nil, res)
}

// readsCache says whether the stage's next probe looks for candidates in
// the cache: not with --no-cache, nor after a miss or below a pending base.
func (b *Builder) readsCache(s *stageState) bool {
	return !b.opts.NoCache && s.pending == "" && !s.busted
}

// decide is probe, with a COPY --from source --explain cannot know
// (unknown, else nil).
func (b *Builder) decide(s *stageState, ins *dockerfile.Instruction, key string, sources map[string]string,
	unknown *cache.UnknownSource, res *StepResult) bool {
	parent := s.parentID()
	in := cache.Input{Parent: parent.String(), Keyword: ins.Keyword, Original: ins.Original, Key: key, Sums: sources,
		NoCache: b.opts.NoCache, PendingBase: s.pending, Unknown: unknown}
	if s.busted {
		in.MissedAt = s.bustedStep
	}
	var img *store.Image
	if b.readsCache(s) && unknown == nil {
		img, in.Candidates = b.candidates(parent, key, sources)
	}
	d := cache.Decide(in)
	info := &trace.CacheInfo{Parent: in.Parent, Key: key, Hit: d.Hit, Reason: d.Reason, Explanation: d.Explanation,
		Previous: d.Previous, Files: d.Files}
	if d.Hit {
		info.Image = img.ID.String()
	}
	b.emit(trace.Event{Type: trace.CacheProbe, Cache: info})
	res.Reason, res.Explanation = d.Reason, d.Explanation
	if d.Hit {
		res.Cached = true
		s.image = img
		s.config = img.Config
		s.ext = cloneExt(img.Ext)
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

// candidates are what the store holds on parent for cache.Decide: the
// entry under key with its image (img, nil when gone); failing that, the
// newest entry built on parent and, for a COPY or ADD, the newest of the
// same COPY. The store's index answers in a read or two, however many
// builds share the parent; the entries are scanned only when an indexed
// image was removed or the entries predate the index.
func (b *Builder) candidates(parent digest.Digest, key string, sources map[string]string) (*store.Image, []cache.Entry) {
	if e, ok := b.store.CacheGet(parent, key); ok {
		img, err := b.image(e.Image)
		// An entry under key decides by itself: hit, or its image is gone.
		return img, []cache.Entry{candidate(e, err != nil)}
	}
	group := cache.Group(key, sources)
	live := func(e *store.CacheEntry) bool {
		if e == nil {
			return false
		}
		_, err := b.image(e.Image)
		return err == nil
	}
	newest, _ := b.store.CacheNewest(parent, "")
	var sameCopy *store.CacheEntry
	if group != "" {
		sameCopy, _ = b.store.CacheNewest(parent, group)
	}
	if live(newest) && (sameCopy == nil || live(sameCopy)) {
		out := []cache.Entry{candidate(newest, false)}
		if sameCopy != nil {
			out = append(out, candidate(sameCopy, false))
		}
		return nil, out
	}
	entries, _ := b.store.CacheEntries(parent)
	out := make([]cache.Entry, 0, len(entries))
	for i := range entries {
		out = append(out, candidate(&entries[i], !live(&entries[i])))
	}
	return nil, out
}

func candidate(e *store.CacheEntry, gone bool) cache.Entry {
	return cache.Entry{Key: e.Key, Original: e.Original, Image: e.Image.String(), Sources: e.Sources, Gone: gone}
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
