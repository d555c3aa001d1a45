package build

import (
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A Dockerfile of N metadata lines makes N images whose configs each hold
// every line before them: their environment and their history. Copying
// both into every step (and scanning the environment for the key an ENV
// sets) made each step cost more than the one before, so a stage instead
// grows one array of each in place and hands every config a view of it:
// step k's image holds the first k entries of the array step k+1 appends
// to. The bytes each config is stored as still grow with N (the image
// format asks for them); what the builder does per step no longer does.
//
// The rules that make the sharing safe: the entries of a view are never
// changed (ENV of a variable set before takes a new array, setEnv); views
// handed out are clipped (their capacity ends at their length), so whoever
// appends to one gets a new array; only the stage that made an array
// appends to it, and only past the longest view it handed out. The other
// parts of a config a step changes in place, its maps, are copied by the
// step that changes them (changeLabel, changeExpose, changeVolume), so a
// config is passed from step to step without a copy: a stage starts
// from its base's config and each step from the one before it as they are.

// ownedList is an array a stage appends to in place, and the length of
// its current contents.
type ownedList[T any] struct{ buf []T }

// holds reports whether view is the list's current contents: the same
// array and length. A config that came from elsewhere (the cache, an
// earlier stage, the base image) is not, and is copied once.
func (o *ownedList[T]) holds(view []T) bool {
	return len(view) == len(o.buf) && (len(view) == 0 || &view[0] == &o.buf[0])
}

// envIndex is a stage's environment as an owned list, with the position
// of each variable's first entry: ENV sets a variable in constant time.
type envIndex struct {
	list ownedList[string]
	at   map[string]int
}

// setEnv sets key to val in the stage's config, as Docker's classic
// builder does: the first entry of key is replaced in place, else the
// entry is appended.
func (s *stageState) setEnv(key, val string) {
	e := &s.env
	if env := s.config.Config.Env; !e.list.holds(env) || e.at == nil {
		e.list.buf = slices.Clone(env)
		e.at = make(map[string]int, len(env))
		for i, kv := range env {
			k, _, _ := strings.Cut(kv, "=")
			if _, dup := e.at[k]; !dup {
				e.at[k] = i
			}
		}
	}
	kv := key + "=" + val
	if i, ok := e.at[key]; ok {
		// Earlier configs share the entries: a changed one needs an array
		// of its own (rare: a Dockerfile sets a variable again).
		buf := slices.Clone(e.list.buf)
		buf[i] = kv
		e.list.buf = buf
	} else {
		e.at[key] = len(e.list.buf)
		e.list.buf = append(e.list.buf, kv)
	}
	s.config.Config.Env = slices.Clip(e.list.buf)
}

// historyWithRoom is the stage's config's history in the stage's own
// array, with room for the entry the commit appends in place
// (CommitRequest.Config).
func (s *stageState) historyWithRoom() []ocispec.History {
	if h := s.config.History; !s.hist.holds(h) {
		s.hist.buf = slices.Clone(h)
	}
	s.hist.buf = slices.Grow(s.hist.buf, 1)
	return s.hist.buf
}

// keepHistory takes the history of the image a commit made: when the
// commit appended its entry in the room historyWithRoom gave, the stage's
// array holds it too and the next step appends after it.
func (s *stageState) keepHistory(h []ocispec.History) {
	n := len(s.hist.buf)
	if len(h) == n+1 && cap(s.hist.buf) > n && &h[0] == &s.hist.buf[:n+1][0] {
		s.hist.buf = s.hist.buf[:n+1]
	}
}
