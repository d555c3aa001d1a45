package view

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/berthkit/berth/trace"
)

// Narrator renders events as they stream: Docker's classic console lines
// (trace.Console), a plain-words line for every event that matters, and
// notes (a lesson's annotations) where Notes says so. It is a
// trace.Recorder, so a live build is narrated while it runs and a replay by
// feeding it the recorded events; the two print the same thing.
type Narrator struct {
	mu      sync.Mutex
	out     *LineWriter
	style   Style
	console *trace.Console
	model   *Model
	// Quiet leaves out the plain-words lines (the classic console and the
	// notes remain).
	Quiet bool
	// Notes, when set, is asked after each event (with the model that
	// already holds it) for the notes to print under it: a lesson's
	// annotations. It runs under the narrator's lock.
	Notes func(e trace.Event, m *Model) []string
	// Pause is called after notes are printed (Enter, --pace, or nothing),
	// outside the lock, so a live engine waits in Record while it runs. It
	// returns how long it held, which CountPauses leaves out of durations.
	Pause func() time.Duration
	// CountPauses is set for a live lesson, whose pauses hold the engine:
	// the durations narrated then leave out the time spent paused, which
	// is counted here (paused) and marked at each build and container start.
	CountPauses bool
	paused      time.Duration
	pauseMarks  map[string]time.Duration
}

// NewNarrator returns a narrator writing to w; model collects the events it
// sees (nil: a fresh one).
func NewNarrator(w io.Writer, style Style, model *Model) *Narrator {
	if model == nil {
		model = NewModel(nil)
	}
	lw := NewLineWriter(w)
	return &Narrator{out: lw, style: style, console: trace.NewConsole(lw, lw), model: model}
}

// Model returns the model of everything narrated so far.
func (n *Narrator) Model() *Model { return n.model }

// Record narrates one event.
func (n *Narrator) Record(e trace.Event) {
	n.mu.Lock()
	n.model.Add(e)
	if !IsMarker(e) {
		if e.Type == trace.Message {
			if !n.Quiet {
				n.line("engine %s: %s", e.Message.Level, e.Message.Text)
			}
		} else {
			n.console.Record(e)
		}
	}
	if !n.Quiet {
		n.narrate(e)
	}
	var notes []string
	if n.Notes != nil {
		notes = n.Notes(e, n.model)
	}
	for _, text := range notes {
		n.printNote(text)
	}
	n.mu.Unlock()
	if len(notes) > 0 && n.Pause != nil {
		// Pause outside the lock: while the attendee reads, the engine waits
		// in Record, which is the point of pausing a live build.
		held := n.Pause()
		n.mu.Lock()
		n.paused += held
		n.mu.Unlock()
	}
}

// markPauses notes the time paused so far when something starts (key: a
// build or a container).
func (n *Narrator) markPauses(key string) {
	if n.pauseMarks == nil {
		n.pauseMarks = map[string]time.Duration{}
	}
	n.pauseMarks[key] = n.paused
}

// took says how long something that started at mark took, as the trace
// says (ms), without the lesson's pauses since, which it mentions.
func (n *Narrator) took(key string, ms int64) string {
	mark, ok := n.pauseMarks[key]
	if !n.CountPauses || !ok {
		return duration(ms)
	}
	delete(n.pauseMarks, key)
	p := n.paused - mark
	if p < time.Millisecond {
		return duration(ms)
	}
	ms -= p.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	return fmt.Sprintf("%s (not counting %s paused by the lesson)", duration(ms), duration(p.Milliseconds()))
}

func (n *Narrator) printNote(text string) {
	n.out.EndLine()
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintln(n.out, n.style.paint(n.style.note, "  ┃ "+stripMarkdown(l)))
	}
}

// line prints one plain-words narration line.
func (n *Narrator) line(format string, args ...any) {
	n.out.EndLine()
	fmt.Fprintln(n.out, n.style.paint(n.style.narrate, "  ▸ "+fmt.Sprintf(format, args...)))
}

// detail prints an indented detail line under a narration line.
func (n *Narrator) detail(format string, args ...any) {
	n.out.EndLine()
	fmt.Fprintln(n.out, n.style.paint(n.style.dim, "      "+fmt.Sprintf(format, args...)))
}

// willStart says whether a build container is one whose process runs: the
// event says so, or the step is a RUN (the builder starts exactly those).
func (n *Narrator) willStart(b *BuildModel, step int, c *trace.ContainerInfo) bool {
	if c.Started {
		return true
	}
	if st := n.step(b, step); st != nil {
		return st.Info.Instruction == "RUN"
	}
	return false
}

func forward(num, total int) string {
	if num >= total {
		return "; it is the last step's image, so it is the result of the build"
	}
	return fmt.Sprintf("; it is forwarded to step %d", num+1)
}

func (n *Narrator) paths(s *trace.SnapshotInfo) {
	const show = 8
	for i, p := range orderPaths(s.Paths) {
		if i == show {
			n.detail("%s", morePaths(len(s.Paths)-show, s.Truncated))
			return
		}
		n.detail("%s", p)
	}
	if s.Truncated {
		n.detail("… (the list was cut at %d paths)", len(s.Paths))
	}
}

// orderPaths puts added paths first, then deleted, then changed (the
// changed ones are mostly parent directories of the others).
func orderPaths(paths []string) []string {
	var out []string
	for _, op := range []string{"A ", "D ", "C "} {
		for _, p := range paths {
			if strings.HasPrefix(p, op) {
				out = append(out, p)
			}
		}
	}
	for _, p := range paths {
		if len(p) < 2 || p[1] != ' ' || !strings.Contains("ADC", p[:1]) {
			out = append(out, p)
		}
	}
	return out
}

func (n *Narrator) step(b *BuildModel, num int) *StepModel {
	if b == nil || num == 0 {
		return nil
	}
	return b.Step(num)
}

// imageOrigin says where a container's image came from: the previous step,
// or a known image.
func (n *Narrator) imageOrigin(b *BuildModel, step int, image string) string {
	if image == "" {
		return ""
	}
	if b != nil && step > 1 {
		if prev := b.Step(step - 1); prev != nil && prev.ResultImage() == image {
			return fmt.Sprintf(", the image step %d forwarded", step-1)
		}
	}
	if st, ok := n.model.ImageStep[image]; ok && st.Build != nil {
		return fmt.Sprintf(", made by step %d of build %d", st.Info.Number, st.Build.Index)
	}
	return ""
}

// LineWriter remembers whether the last byte written ended a line, so
// narration never starts in the middle of a command's output line.
type LineWriter struct {
	w   io.Writer
	bol bool
}

// NewLineWriter wraps w; nothing is written yet, so it is at a line's start.
func NewLineWriter(w io.Writer) *LineWriter { return &LineWriter{w: w, bol: true} }

func (b *LineWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		b.bol = p[len(p)-1] == '\n'
	}
	return b.w.Write(p)
}

// EndLine ends the current line unless the last write already did.
func (b *LineWriter) EndLine() {
	if !b.bol {
		b.Write([]byte("\n"))
	}
}

func humanSize(n int64) string { return trace.HumanSize(n) }

func duration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func shortDigest(d string) string {
	if d == "" {
		return "(none)"
	}
	return "sha256:" + shortID(d)
}

func cmdString(cmd []string) string {
	if len(cmd) == 0 {
		return "(no command)"
	}
	return strings.Join(cmd, " ")
}

// stripMarkdown drops the emphasis marks a terminal cannot show.
func stripMarkdown(s string) string {
	return strings.ReplaceAll(s, "**", "")
}

// reachable says where a started container can be reached: its networks
// with their addresses, and its published ports.
func reachable(c *trace.ContainerInfo) string {
	var parts []string
	for _, nw := range c.Networks {
		p := "on network " + nw.Name
		if nw.IP != "" {
			p += " at " + nw.IP
		}
		parts = append(parts, p)
	}
	for _, p := range c.Ports {
		host := p.HostIP
		if host == "" {
			host = "0.0.0.0"
		}
		parts = append(parts, fmt.Sprintf("port %d/%s published on %s:%d", p.ContainerPort, p.Proto, host, p.HostPort))
	}
	return strings.Join(parts, "; ")
}

// lineIf prints a narration line unless it is empty.
func (n *Narrator) lineIf(text string) {
	if text != "" {
		n.line("%s", text)
	}
}

// detailIf prints a detail line unless it is empty.
func (n *Narrator) detailIf(text string) {
	if text != "" {
		n.detail("%s", text)
	}
}

// clientLine says in plain words what a client of the daemon did.
func clientLine(t trace.Type, c *trace.ClientInfo) string {
	if c == nil {
		return ""
	}
	switch t {
	case trace.ClientRequest:
		return fmt.Sprintf("client → daemon: %s %s over %s", c.Method, c.Path, c.Host)
	case trace.ClientUpload:
		return fmt.Sprintf("client → daemon: the build context, %d files as a %s tar, uploaded; the server unpacks it and builds from it", c.Files, humanSize(c.Bytes))
	}
	var what []string
	if c.Image != "" {
		what = append(what, "image "+shortID(c.Image))
	}
	if c.Container != "" {
		what = append(what, "container "+shortID(c.Container))
	}
	if c.Error != "" {
		what = append(what, "error: "+firstLine(c.Error))
	}
	if len(what) == 0 {
		what = append(what, "done")
	}
	return fmt.Sprintf("daemon → client: %s %s answered after %s: %s", c.Method, c.Path, duration(c.DurationMS), strings.Join(what, ", "))
}
