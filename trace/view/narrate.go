package view

import (
	"encoding/json"
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

func (n *Narrator) narrate(e trace.Event) {
	m := n.model
	b := m.Build(e.Build)
	switch e.Type {
	case trace.BuildStart:
		n.markPauses("build")
		i := e.BuildStartInfo
		if i == nil {
			return
		}
		n.line("build %d: the berth CLI (the client) hands the engine (the server) the Dockerfile and the build context (%s, %s); %s, one per instruction",
			len(m.Builds), plural(i.ContextFiles, "file"), humanSize(i.ContextBytes), plural(i.Steps, "step"))
	case trace.PullStart:
		if e.Pull != nil {
			n.line("%s is not in the store: fetching it from its registry", e.Pull.Ref)
		}
	case trace.PullEnd:
		if p := e.Pull; p != nil {
			switch {
			case p.Error != "":
				n.line("pulling %s failed: %s", p.Ref, p.Error)
			case p.UpToDate:
				n.line("%s was already up to date", p.Ref)
			default:
				n.line("pulled %s (image %s, %s fetched)", p.Ref, shortID(p.Image), humanSize(p.Bytes))
			}
		}
	case trace.CacheProbe:
		c := e.Cache
		if c == nil {
			return
		}
		if c.Hit {
			n.line("cache hit: %s", c.Explanation)
		} else {
			n.line("cache miss (%s): %s", c.Reason, c.Explanation)
		}
		n.detail("cache key: parent %s + %s", orNone(shortID(c.Parent)), clip(c.Key, 90))
	case trace.ContainerCreate:
		c := e.Container
		if c == nil {
			return
		}
		from := n.imageOrigin(b, e.Step, c.Image)
		image := shortID(c.Image)
		if c.Image == "" {
			image, from = "scratch", " (an empty filesystem)"
		}
		switch c.Purpose {
		case "build":
			if n.willStart(b, e.Step, c) {
				n.line("intermediate container %s created from image %s%s", shortID(c.ID), image, from)
			} else {
				n.line("intermediate container %s created from image %s%s; it will never start: this step only changes the image's configuration", shortID(c.ID), image, from)
			}
		case "copy":
			n.line("container %s created from image %s%s and mounted; files are copied in without starting it", shortID(c.ID), image, from)
		default:
			name := ""
			if c.Name != "" {
				name = fmt.Sprintf(" (name %s)", c.Name)
			}
			n.line("container %s%s created from image %s%s, to run %s", shortID(c.ID), name, image, from, clip(cmdString(c.Cmd), 80))
			for _, l := range plumbingLines(c) {
				n.detail("%s", l)
			}
		}
	case trace.ContainerStart:
		if c := e.Container; c != nil {
			n.markPauses(c.ID)
		}
		if c := e.Container; c != nil {
			cmd := c.Cmd
			if len(cmd) == 0 {
				if ct := m.Container(c.ID); ct != nil {
					cmd = ct.Create.Cmd
				}
			}
			pid := ""
			if c.Pid > 0 {
				pid = fmt.Sprintf(" as process %d", c.Pid)
			}
			n.line("container %s started: %s runs inside it%s", shortID(c.ID), clip(cmdString(cmd), 80), pid)
			n.detailIf(reachable(c))
		}
	case trace.ContainerExit:
		if c := e.Container; c != nil {
			code := 0
			if c.ExitCode != nil {
				code = *c.ExitCode
			}
			n.line("the process exited with code %d after %s; container %s is stopped", code, n.took(c.ID, c.DurationMS), shortID(c.ID))
		}
	case trace.ContainerPause:
		if c := e.Container; c != nil {
			n.line("container %s is paused (frozen) so its files hold still while the snapshot is taken", shortID(c.ID))
		}
	case trace.ContainerResume:
		if c := e.Container; c != nil {
			n.line("container %s goes on running", shortID(c.ID))
		}
	case trace.ContainerRemove:
		if c := e.Container; c != nil {
			if c.Purpose == "build" || c.Purpose == "copy" {
				img := ""
				if st := n.step(b, e.Step); st != nil && st.Image != nil {
					img = fmt.Sprintf("; what it did lives on in image %s", shortID(st.Image.ID))
				}
				n.line("intermediate container %s removed%s", shortID(c.ID), img)
			} else {
				n.line("container %s removed", shortID(c.ID))
			}
		}
	case trace.Snapshot:
		s := e.Snapshot
		if s == nil {
			return
		}
		who := "filesystem snapshot"
		if e.Build == "" {
			who = "commit: filesystem snapshot"
		}
		n.line("%s of container %s: %d added, %d changed, %d deleted, %s of file content",
			who, shortID(s.Container), s.Added, s.Changed, s.Deleted, humanSize(s.Bytes))
		n.paths(s)
	case trace.Layer:
		l := e.Layer
		if l == nil {
			return
		}
		if l.Empty {
			n.line("no files changed, so no new layer: the new image differs only in its configuration")
		} else {
			n.line("layer stored: %s compressed (%s as a tar), digest %s", humanSize(l.Size), humanSize(l.UncompressedSize), shortDigest(l.Digest))
		}
	case trace.Image:
		i := e.Image
		if i == nil {
			return
		}
		cmd := ""
		if len(i.Cmd) > 0 {
			j, _ := json.Marshal(i.Cmd)
			cmd = ", CMD " + string(j)
		}
		if e.Build == "" {
			n.line("image %s saved from the container's snapshot: parent %s, %d layers%s", shortID(i.ID), orNone(shortID(i.Parent)), i.Layers, cmd)
		} else {
			n.line("new image %s saved: parent %s, %d layers%s", shortID(i.ID), orNone(shortID(i.Parent)), i.Layers, cmd)
		}
	case trace.StepEnd:
		st := n.step(b, e.Step)
		end := e.StepEndInfo
		if st == nil || end == nil {
			return
		}
		num, total := st.Info.Number, st.Info.Total
		switch {
		case end.Error != "":
			n.line("step %d failed: %s", num, firstLine(end.Error))
		case st.Info.Instruction == "FROM" && end.Image == "":
			n.line("step %d: scratch, the empty image, is the base", num)
		case st.Info.Instruction == "FROM":
			n.line("step %d's result is the base image %s%s", num, shortID(end.Image), forward(num, total))
		case end.Cached:
			n.line("step %d's image %s comes from the cache (nothing ran)%s", num, shortID(end.Image), forward(num, total))
		default:
			n.line("step %d's image is %s%s", num, shortID(end.Image), forward(num, total))
		}
	case trace.Tag:
		if t := e.Tag; t != nil {
			n.line("the name %s now points at image %s", t.Ref, shortID(t.Image))
		}
	case trace.ClientRequest, trace.ClientUpload, trace.ClientResponse:
		n.lineIf(clientLine(e.Type, e.Client))
	case trace.BuildEnd:
		i := e.BuildEndInfo
		if i == nil {
			return
		}
		idx := len(m.Builds)
		if b != nil {
			idx = b.Index
		}
		if i.Error != "" {
			n.line("build %d failed after %s: %s", idx, n.took("build", i.DurationMS), firstLine(i.Error))
			return
		}
		n.line("build %d finished in %s: %d steps ran, %d came from the cache; the result is image %s", idx, n.took("build", i.DurationMS), i.Ran, i.Cached, shortID(i.Image))
	}
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
