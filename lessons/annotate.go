package lessons

import (
	"sync"
	"time"

	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
)

// annotations are the notes of the action about to run: each prints under
// the first event its pattern matches (or every one, for `every`). The
// narrator asks fire after each event and pauses when it returns notes.
type annotations struct {
	mu    sync.Mutex
	notes []*annotation
	// expand fills placeholders in annotation text.
	expand func(string) string
}

// clock times the lesson's pauses (a variable for tests).
var clock = time.Now

type annotation struct {
	block   Block
	matched bool
}

// arm sets the annotations of the action about to run.
func (a *annotations) arm(blocks []Block) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.notes = nil
	for _, b := range blocks {
		a.notes = append(a.notes, &annotation{block: b})
	}
}

// unmatched lists the patterns of armed annotations that no event matched.
func (a *annotations) unmatched() []Block {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Block
	for _, n := range a.notes {
		if !n.matched {
			out = append(out, n.block)
		}
	}
	return out
}

// fire returns the text of the annotations e sets off (m already holds e).
func (a *annotations) fire(e trace.Event, m *view.Model) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var texts []string
	for _, n := range a.notes {
		if (n.block.On.Every || !n.matched) && Matches(n.block.On, e, m) {
			n.matched = true
			texts = append(texts, a.expand(n.block.Text))
		}
	}
	return texts
}
