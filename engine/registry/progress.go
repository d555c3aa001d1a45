package registry

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/berthkit/berth/trace"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Progress renders the lines of a pull or a push the way Docker prints them:
// a line per layer ("a1b2c3d4e5f6: Pull complete") and lines of the whole
// operation ("Digest: sha256:..."). Methods are safe for concurrent use.
type Progress interface {
	// Line prints a line that belongs to no layer.
	Line(format string, args ...any)
	// Status moves a layer to an intermediate state ("Pulling fs layer",
	// "Waiting", "Verifying Checksum", "Download complete", "Preparing").
	Status(id, status string)
	// Done moves a layer to its final state ("Pull complete", "Already
	// exists", "Pushed", "Layer already exists").
	Done(id, status string)
	// Bytes reports a transfer ("Downloading", "Pushing"); only live bars
	// show it, as Docker prints no such lines when not on a terminal.
	Bytes(id, action string, done, total int64)
	// Close ends live output; lines printed after it follow the layers.
	Close()
}

// NewProgress renders to w: live bars when w is a terminal, plain lines
// otherwise. A nil w discards everything.
func NewProgress(w io.Writer) Progress {
	if w == nil {
		return discardProgress{}
	}
	if isTerminal(w) {
		return NewBarProgress(w)
	}
	return NewPlainProgress(w)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	if !term.IsTerminal(int(f.Fd())) {
		return false
	}
	// A terminal without a size (some CI ptys) cannot hold redrawn lines.
	width, height, err := term.GetSize(int(f.Fd()))
	return err == nil && width > 0 && height > 0
}

type discardProgress struct{}

func (discardProgress) Line(string, ...any)                {}
func (discardProgress) Status(string, string)              {}
func (discardProgress) Done(string, string)                {}
func (discardProgress) Bytes(string, string, int64, int64) {}
func (discardProgress) Close()                             {}

// plainProgress prints each state change once, as `docker pull | cat` does.
type plainProgress struct {
	mu   sync.Mutex
	w    io.Writer
	last map[string]string
}

// NewPlainProgress renders plain lines, without cursor movement.
func NewPlainProgress(w io.Writer) Progress {
	return &plainProgress{w: w, last: map[string]string{}}
}

func (p *plainProgress) Line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *plainProgress) Status(id, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last[id] == status {
		return
	}
	p.last[id] = status
	fmt.Fprintf(p.w, "%s: %s\n", id, status)
}

func (p *plainProgress) Done(id, status string)             { p.Status(id, status) }
func (p *plainProgress) Bytes(string, string, int64, int64) {}
func (p *plainProgress) Close()                             {}

// barProgress keeps one live line per layer, redrawn in place.
type barProgress struct {
	mu     sync.Mutex
	w      io.Writer
	p      *mpb.Progress
	layers map[string]*layerBar
	order  []string
}

type layerBar struct {
	mu          sync.Mutex
	id          string
	status      string
	done, total int64
	transfer    bool // show the bar and counters
	bar         *mpb.Bar
}

// NewBarProgress renders live bars (for a terminal).
func NewBarProgress(w io.Writer) Progress {
	return &barProgress{w: w, layers: map[string]*layerBar{}}
}

func (p *barProgress) Line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p != nil {
		p.closeLocked()
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *barProgress) layer(id string) *layerBar {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.layers[id]; ok {
		return l
	}
	if p.p == nil {
		p.p = mpb.New(mpb.WithOutput(p.w), mpb.WithWidth(80), mpb.WithAutoRefresh())
	}
	l := &layerBar{id: id}
	l.bar = p.p.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return l.render() })))
	p.layers[id] = l
	p.order = append(p.order, id)
	return l
}

func (l *layerBar) render() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := l.id + ": " + l.status
	if l.transfer && l.total > 0 {
		line += " " + ProgressBar(l.done, l.total)
	}
	return line
}

func (p *barProgress) Status(id, status string) {
	l := p.layer(id)
	l.mu.Lock()
	l.status, l.transfer = status, false
	l.mu.Unlock()
}

func (p *barProgress) Done(id, status string) {
	l := p.layer(id)
	l.mu.Lock()
	l.status, l.transfer = status, false
	l.mu.Unlock()
	l.bar.SetTotal(-1, true)
}

func (p *barProgress) Bytes(id, action string, done, total int64) {
	l := p.layer(id)
	l.mu.Lock()
	l.status, l.transfer, l.done, l.total = action, true, done, total
	l.mu.Unlock()
}

func (p *barProgress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p != nil {
		p.closeLocked()
	}
}

func (p *barProgress) closeLocked() {
	for _, id := range p.order {
		if l := p.layers[id]; !l.bar.Completed() {
			l.bar.Abort(false)
		}
	}
	p.p.Wait()
	p.p = nil
	p.layers = map[string]*layerBar{}
	p.order = nil
}

// ProgressBar draws Docker's transfer bar:
// "[=====>                                             ]  1.08MB/3.37MB".
func ProgressBar(done, total int64) string {
	const width = 50
	if total <= 0 {
		return trace.HumanSize(done)
	}
	if done > total {
		done = total
	}
	n := int(float64(width) * float64(done) / float64(total))
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	} else {
		bar = strings.Repeat("=", width-1) + ">"
	}
	return fmt.Sprintf("[%s] %8s/%s", bar, trace.HumanSize(done), trace.HumanSize(total))
}
