package lessons

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
)

// Mode says whether a lesson runs the engine or replays a recording.
type Mode int

// Modes.
const (
	// Live runs real builds, runs and commits through a Backend.
	Live Mode = iota + 1
	// Replay narrates a recording made by a live run; nothing executes.
	Replay
)

// Backend is what a live lesson needs from the engine. lessons/live
// implements it; tests use fakes. Every method's effects must reach the
// recorders as trace events (a run's output as output events), because the
// narration and the recording are made from events only.
type Backend interface {
	// AddRecorder attaches r to every event from now on, until remove is called.
	AddRecorder(r trace.Recorder) (remove func())
	// Note puts a lesson marker into the event stream, in sequence with the
	// engine's events (a message event).
	Note(text string)
	// Build builds spec.Context inside workspace. A build that fails at a
	// step returns an error after its build.end event.
	Build(ctx context.Context, workspace string, spec BuildSpec) error
	// Run creates and runs a container and waits for it (or stops it after
	// spec.StopAfter).
	Run(ctx context.Context, spec RunSpec) error
	// Commit saves a container's changes as an image.
	Commit(ctx context.Context, spec CommitSpec) error
	// Remove removes containers (`rm [-f]`).
	Remove(ctx context.Context, spec RmSpec) error
	// Network creates or removes a user-defined network.
	Network(ctx context.Context, spec NetworkSpec) error
	// Version names the engine ("berth 0.1.0") for recordings.
	Version() string
}

// Options configure Run.
type Options struct {
	Mode Mode
	// Base is the base profile's name (busybox, alpine, debian). In replay
	// mode it comes from the recording and this is ignored.
	Base string
	// Why says why this mode and base were chosen, for the banner.
	Why string
	// Live mode.
	Backend   Backend
	Workspace string    // where the lesson's files are written
	Record    io.Writer // when set, every event of the lesson is written here as JSON lines
	// Replay mode.
	Recording     []trace.Event
	RecordingName string // where the recording came from, for messages
	// Out receives everything the lesson prints.
	Out   io.Writer
	Style view.Style
	// Pause waits for the attendee (Enter, a timed pace, or not at all).
	// Nil never waits.
	Pause func(ctx context.Context)
	// Position is "3/9" when running a series, shown in the banner.
	Position string
	// Quiz, when set, asks before each rebuild which steps will come from
	// the cache and checks the answer (quiz.go).
	Quiz Asker
	// Port is the host port a lesson publishes a server on ({{port}});
	// 0 is DefaultPort.
	Port int
}

// DefaultPort is the host port lessons publish redis on, as the notes'
// readers would type it: redis's own.
const DefaultPort = 6379

// Report is what a lesson found.
type Report struct {
	Lesson string
	Mode   Mode
	Base   string
	Claims []ClaimResult
	// Unmatched are annotations that no event matched (their pattern).
	Unmatched []string
	Model     *view.Model
}

// Failed counts claims the engine's trace contradicted.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Claims {
		if !c.OK {
			n++
		}
	}
	return n
}

// ErrClaimsFailed is wrapped by Run's error when the trace disagrees with
// what the lesson says.
var ErrClaimsFailed = errors.New("the engine disagrees with the lesson")

type runner struct {
	l       *Lesson
	opts    Options
	out     *view.LineWriter
	st      view.Style
	base    *BaseProfile
	blocks  []Block
	narr    *view.Narrator
	notes   *annotations
	files   map[string]string // the workspace files as the lesson wrote them
	segs    [][]trace.Event   // replay: each engine action's events
	actions []Block
	report  *Report
	header  recordingHeader
	// prose says the last thing printed was lesson text, so the next
	// paragraph needs no blank line to stand apart from engine output.
	prose bool
}

// Run runs a lesson, live or as a replay. It returns an error wrapping
// ErrClaimsFailed when a claim did not hold, after the lesson finished.
func Run(ctx context.Context, l *Lesson, opts Options) (rep *Report, err error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	r := &runner{l: l, opts: opts, st: opts.Style, files: map[string]string{}}
	r.out = view.NewLineWriter(opts.Out)
	switch opts.Mode {
	case Live:
		if opts.Backend == nil || opts.Workspace == "" {
			return nil, errors.New("live lesson: no engine backend or workspace")
		}
	case Replay:
		h, err := r.prepareReplay()
		if err != nil {
			return nil, err
		}
		r.header = h
		opts.Base = h.Base
	default:
		return nil, errors.New("lesson mode must be live or replay")
	}
	base, perr := Profile(opts.Base)
	if perr != nil {
		return nil, perr
	}
	r.base = base
	mode := engineMode(opts)
	if mode != ModeRoot && opts.Record != nil && l.modeDependent() {
		return nil, fmt.Errorf("lesson %s differs in %s mode, and recordings replay what root does: record it as root", l.Name, mode)
	}
	r.blocks = l.For(base.Name, mode)
	r.actions = l.EngineActions(base.Name, mode)
	if opts.Mode == Replay {
		if err := r.splitRecording(); err != nil {
			return nil, err
		}
	}
	r.report = &Report{Lesson: l.Name, Mode: opts.Mode, Base: base.Name}
	r.narr = view.NewNarrator(r.out, r.st, nil)
	r.notes = &annotations{expand: func(s string) string { out, _ := r.vars().expand(s); return out }}
	r.narr.Notes = r.notes.fire
	r.narr.Pause = func() time.Duration { start := clock(); r.pause(ctx); return clock().Sub(start) }
	// A pause holds the in-process engine; a daemon goes on meanwhile, so
	// its durations hold no paused time to leave out.
	_, viaDaemon := opts.Backend.(interface{ DaemonHost() string })
	r.narr.CountPauses = opts.Mode == Live && opts.Pause != nil && !viaDaemon
	r.report.Model = r.narr.Model()

	if opts.Mode == Live && opts.Record != nil {
		w := trace.NewWriter(opts.Record)
		defer opts.Backend.AddRecorder(w)()
		opts.Backend.Note(view.HeaderText(l.Name, base.Name, opts.Backend.Version()))
		defer func() {
			if werr := w.Err(); werr != nil && err == nil {
				err = werr
			}
		}()
	}
	r.banner()
	if err := r.run(ctx); err != nil {
		return r.report, err
	}
	return r.report, r.summary()
}

// engineMode is the mode the lesson's engine runs in (ModeRoot or
// ModeRootless): a backend that knows says; a replay is of a recording
// made as root.
func engineMode(opts Options) string {
	if opts.Mode == Live {
		if m, ok := opts.Backend.(interface{ EngineMode() string }); ok && m.EngineMode() == ModeRootless {
			return ModeRootless
		}
	}
	return ModeRoot
}

// modeDependent says whether some of the lesson's blocks apply in one
// engine mode only.
func (l *Lesson) modeDependent() bool {
	for _, b := range l.Blocks {
		if b.Modes != nil {
			return true
		}
	}
	return false
}

func (r *runner) vars() *vars {
	v := &vars{base: r.base, image: lastImageID(r.narr.Model()), port: r.opts.Port}
	if v.port == 0 {
		v.port = DefaultPort
	}
	if c := r.narr.Model().LastRun(); c != nil {
		v.container = c.ID()
	}
	return v
}

func (r *runner) printf(format string, args ...any) {
	r.out.EndLine()
	fmt.Fprintf(r.out, format, args...)
}

func (r *runner) pause(ctx context.Context) {
	if r.opts.Pause != nil {
		r.out.EndLine()
		r.opts.Pause(ctx)
	}
}

func (r *runner) banner() {
	l := r.l
	rule := strings.Repeat("═", 72)
	r.printf("%s\n", r.st.Dim(rule))
	pos := ""
	if r.opts.Position != "" {
		pos = "Lesson " + r.opts.Position + " · "
	}
	r.printf("%s\n", r.st.Heading(fmt.Sprintf("%s%s — %s", pos, l.Name, l.Title)))
	var facts []string
	if l.Notes != "" {
		facts = append(facts, fmt.Sprintf("notes: %q", l.Notes))
	}
	if l.Duration != "" {
		facts = append(facts, "about "+l.Duration)
	}
	if len(facts) > 0 {
		r.printf("%s\n", strings.Join(facts, " · "))
	}
	switch r.opts.Mode {
	case Live:
		where := "on this machine"
		if d, ok := r.opts.Backend.(interface{ DaemonHost() string }); ok {
			where = "in the berth daemon at " + d.DaemonHost()
		}
		r.printf("%s real builds %s with %s; the lesson's files are in %s.\n",
			r.st.OK("LIVE:"), where, r.opts.Backend.Version(), r.opts.Workspace)
	case Replay:
		when := ""
		if !r.header.Time.IsZero() {
			when = " on " + r.header.Time.UTC().Format("2006-01-02")
		}
		r.printf("%s this is a replay of builds recorded%s by the real engine (%s). Nothing runs on this machine: every event shown below was recorded.\n",
			r.st.Warning("REPLAY:"), when, orNone(r.header.Engine))
	}
	if r.opts.Why != "" {
		r.printf("%s\n", r.opts.Why)
	}
	r.printf("Base: %s. %s\n", r.st.Cmd(r.base.Name), r.base.Adapt)
	r.printf("%s\n", r.st.Dim(rule))
}

func (r *runner) run(ctx context.Context) error {
	action := 0
	for i := 0; i < len(r.blocks); i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("lesson %s interrupted: %w", r.l.Name, err)
		}
		b := r.blocks[i]
		switch b.Kind {
		case Heading:
			if b.Level == 1 {
				continue // the banner shows the title
			}
			r.printf("\n%s\n", r.st.Heading(b.Text))
			r.prose = true
			continue
		case Prose:
			text, err := r.vars().expand(b.Text)
			if err != nil {
				return r.errAt(b, err)
			}
			if !r.prose {
				r.printf("\n")
			}
			r.printf("%s\n", stripMarkdown(text))
			r.prose = true
			continue
		case Code:
			text, err := r.vars().expand(b.Text)
			if err != nil {
				return r.errAt(b, err)
			}
			if b.File != "" {
				if err := r.writeFile(b.File, text); err != nil {
					return r.errAt(b, err)
				}
				r.printf("%s\n", r.st.Dim("  "+b.File+":"))
			}
			for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
				r.printf("  │ %s\n", l)
			}
		case Annotation:
			// Printed by the narrator when its event comes.
			continue
		case Action:
			var err error
			if engineActions[b.Action] {
				var notes []Block
				for j := i + 1; j < len(r.blocks); j++ {
					nb := r.blocks[j]
					if nb.Kind == Action && engineActions[nb.Action] {
						break
					}
					if nb.Kind == Annotation {
						notes = append(notes, nb)
					}
				}
				err = r.engineAction(ctx, b, action, notes)
				if err == nil {
					err = r.unexpectedFailure(i)
				}
				action++
			} else {
				err = r.localAction(ctx, b)
			}
			if err != nil {
				if engineActions[b.Action] && r.opts.Mode == Live && ctx.Err() == nil {
					r.printf("\n%s\n", r.st.Fail("✗ This step failed on this machine, so the lesson stops here: "+firstLine(err.Error())))
					return fmt.Errorf("%w: %w", ErrLiveStepFailed, r.errAt(b, err))
				}
				return r.errAt(b, err)
			}
		}
		r.prose = false
	}
	return nil
}

// ErrLiveStepFailed is wrapped by Run's error when a live build, run or
// commit failed in a way the lesson did not expect: the lesson stops there
// rather than narrate what did not happen.
var ErrLiveStepFailed = errors.New("a live step failed")

// unexpectedFailure says whether the action just done (block i) failed in
// the trace while the lesson claims nothing of the kind: a build that failed
// at a step with no `expect build failed` / `expect step N failed` after it,
// or a run whose container exited non-zero with no `expect run exit N`.
func (r *runner) unexpectedFailure(i int) error {
	b := r.blocks[i]
	var claims []string
	for j := i + 1; j < len(r.blocks); j++ {
		nb := r.blocks[j]
		if nb.Kind == Action && engineActions[nb.Action] {
			break
		}
		if nb.Kind == Action && nb.Action == "expect" {
			claims = append(claims, strings.Join(nb.Args, " "))
		}
	}
	claimed := func(pred func(string) bool) bool {
		for _, c := range claims {
			if pred(c) {
				return true
			}
		}
		return false
	}
	switch b.Action {
	case "build":
		last := r.narr.Model().LastBuild()
		if last == nil || last.End == nil || last.End.Error == "" {
			return nil
		}
		if claimed(func(c string) bool {
			return c == "build failed" || strings.HasSuffix(c, " failed") && strings.HasPrefix(c, "step")
		}) {
			return nil
		}
		return fmt.Errorf("the build failed: %s", last.End.Error)
	case "run":
		c := r.narr.Model().LastRun()
		if c == nil || c.Exit == nil || c.Exit.ExitCode == nil || *c.Exit.ExitCode == 0 {
			return nil
		}
		if claimed(func(c string) bool { return strings.HasPrefix(c, "run exit ") }) {
			return nil
		}
		return fmt.Errorf("the container exited with code %d", *c.Exit.ExitCode)
	}
	return nil
}

func (r *runner) errAt(b Block, err error) error {
	return fmt.Errorf("lesson %s, line %d (%s): %w", r.l.Name, b.Line, orNone(b.Directive), err)
}

func (r *runner) writeFile(name, content string) error {
	r.files[name] = content
	if r.opts.Mode != Live {
		return nil
	}
	p := filepath.Join(r.opts.Workspace, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

// engineAction runs (or replays) a build, run or commit with its annotations armed.
func (r *runner) engineAction(ctx context.Context, b Block, index int, notes []Block) error {
	args := make([]string, len(b.Args))
	for i, a := range b.Args {
		v, err := r.vars().expand(a)
		if err != nil {
			return err
		}
		args[i] = v
	}
	shown, own := displayArgs(b.Action, args)
	r.printf("\n%s\n", r.st.Cmd("$ berth "+b.Action+" "+shellJoin(shown)))
	if own.StopAfter != "" {
		r.printf("%s\n", r.st.Dim("  (the lesson stops it after "+own.StopAfter+", as Ctrl-C would: SIGTERM, then SIGKILL 5s later)"))
	}
	if own.Ready != "" {
		r.printf("%s\n", r.st.Dim("  (the lesson then waits until its log says "+strconv.Quote(own.Ready)+", as you would before connecting)"))
	}
	r.pause(ctx)
	if after := r.quiz(ctx, b, args); after != nil {
		defer after()
	}
	r.notes.arm(notes)
	defer func() {
		for _, u := range r.notes.unmatched() {
			if u.On.Optional {
				continue
			}
			r.report.Unmatched = append(r.report.Unmatched, fmt.Sprintf("line %d: on: %s", u.Line, u.On))
		}
		r.notes.arm(nil)
	}()
	if r.opts.Mode == Replay {
		if index >= len(r.segs) {
			return fmt.Errorf("the recording %s has no events for this action", r.opts.RecordingName)
		}
		if b.Action == "build" {
			spec, _ := parseBuild(args)
			if err := r.checkRecordedDockerfile(spec, r.segs[index]); err != nil {
				return err
			}
		}
		for _, e := range r.segs[index] {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.narr.Record(e)
		}
		r.out.EndLine()
		return nil
	}
	be := r.opts.Backend
	be.Note(actionText(r.l.Name, index+1, b.Directive))
	remove := be.AddRecorder(r.narr)
	err := r.dispatch(ctx, b.Action, args)
	remove()
	r.out.EndLine()
	return err
}

// parsed parses a directive's words with parse and hands the result to do.
func parsed[S any](args []string, parse func([]string) (S, error), do func(S) error) error {
	spec, err := parse(args)
	if err != nil {
		return err
	}
	return do(spec)
}

// dispatch hands a live action to the backend.
func (r *runner) dispatch(ctx context.Context, action string, args []string) error {
	be := r.opts.Backend
	switch action {
	case "build":
		spec, err := parseBuild(args)
		if err != nil {
			return err
		}
		err = be.Build(ctx, r.opts.Workspace, spec)
		if err != nil && r.narr.Model().LastBuild() != nil && r.narr.Model().LastBuild().End != nil {
			// The build ran and failed at a step: that is in the trace, and
			// the lesson's claims say whether it was meant to.
			err = nil
		}
		return err
	case "run":
		return parsed(args, parseRun, func(spec RunSpec) error { return be.Run(ctx, spec) })
	case "commit":
		return parsed(args, parseCommit, func(spec CommitSpec) error { return be.Commit(ctx, spec) })
	case "rm":
		return parsed(args, parseRm, func(spec RmSpec) error { return be.Remove(ctx, spec) })
	case "network":
		return parsed(args, parseNetwork, func(spec NetworkSpec) error { return be.Network(ctx, spec) })
	}
	return fmt.Errorf("%s is no engine action", action)
}

// checkRecordedDockerfile makes sure the replay shows the Dockerfile that
// was really built: the recorded steps must be the lesson's instructions.
func (r *runner) checkRecordedDockerfile(spec BuildSpec, events []trace.Event) error {
	name := spec.Dockerfile
	if name == "" {
		name = "Dockerfile"
	}
	p := filepath.ToSlash(filepath.Join(spec.Context, name))
	content, ok := r.files[p]
	if !ok {
		return fmt.Errorf("the lesson builds %s, but no code block wrote it", p)
	}
	want, err := dockerfileSteps(content)
	if err != nil {
		return err
	}
	var got []string
	for _, e := range events {
		if e.Type == trace.StepStart && e.StepInfo != nil {
			got = append(got, e.StepInfo.Original)
		}
	}
	if len(got) == 0 {
		return nil // the build failed before its first step: nothing to compare
	}
	for i, g := range got {
		if i >= len(want) || want[i] != g {
			w := "(nothing)"
			if i < len(want) {
				w = want[i]
			}
			return fmt.Errorf("the recording %s built step %d as %q, but the lesson's Dockerfile says %q: the recording is out of date, re-record it (make lessons-record)",
				r.opts.RecordingName, i+1, g, w)
		}
	}
	return nil
}

// dockerfileSteps lists a Dockerfile's steps as the builder prints them.
func dockerfileSteps(content string) ([]string, error) {
	df, err := dockerfile.Parse(strings.NewReader(content), "Dockerfile")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range df.Stages {
		out = append(out, st.From.Original)
		for _, ins := range st.Instructions {
			out = append(out, ins.Original)
		}
	}
	return out, nil
}

// localAction runs a directive that needs no engine.
func (r *runner) localAction(ctx context.Context, b Block) error {
	switch b.Action {
	case "edit":
		spec, err := parseEdit(b.Args)
		if err != nil {
			return err
		}
		if spec.Text, err = r.vars().expand(spec.Text); err != nil {
			return err
		}
		before, ok := r.files[spec.File]
		if !ok {
			return fmt.Errorf("edit %s: no code block wrote this file", spec.File)
		}
		after, err := applyEdit(before, spec)
		if err != nil {
			return err
		}
		if err := r.writeFile(spec.File, after); err != nil {
			return err
		}
		r.printf("%s\n", r.st.Cmd(fmt.Sprintf("✎ %s, %s", spec.File, describeEdit(spec))))
		for i, l := range strings.Split(strings.TrimRight(after, "\n"), "\n") {
			r.printf("  %2d │ %s\n", i+1, l)
		}
	case "expect":
		c, err := parseClaim(b.Args)
		if err != nil {
			return err
		}
		value, err := r.vars().expand(c.Value)
		if err != nil {
			return err
		}
		for _, res := range c.Check(r.narr.Model(), value) {
			r.report.Claims = append(r.report.Claims, res)
			if res.OK {
				r.printf("%s\n", r.st.OK("  ✓ "+res.Says))
			} else {
				r.printf("%s\n", r.st.Fail("  ✗ the engine disagrees with the lesson: "+res.Says))
			}
		}
	case "show":
		r.out.EndLine()
		switch b.Args[0] {
		case "tree":
			view.RenderTree(r.out, r.narr.Model(), r.st)
		case "layers":
			view.RenderLayers(r.out, r.narr.Model(), r.st)
		case "explain":
			view.RenderExplain(r.out, r.narr.Model(), r.narr.Model().LastBuild(), r.st)
		case "dockerfile":
			content := r.files["Dockerfile"]
			for i, l := range strings.Split(strings.TrimRight(content, "\n"), "\n") {
				r.printf("  %2d │ %s\n", i+1, l)
			}
		}
	case "pause":
		r.pause(ctx)
	}
	return nil
}

func describeEdit(e EditSpec) string {
	switch e.Op {
	case "insert-after":
		return fmt.Sprintf("a line inserted after line %d:", e.Line)
	case "insert-before":
		return fmt.Sprintf("a line inserted before line %d:", e.Line)
	case "replace":
		return fmt.Sprintf("line %d replaced:", e.Line)
	case "delete":
		return fmt.Sprintf("line %d deleted:", e.Line)
	}
	return "a line appended:"
}

func (r *runner) summary() error {
	n, failed := len(r.report.Claims), r.report.Failed()
	r.out.EndLine()
	switch {
	case n == 0:
		r.printf("\n%s\n", r.st.Dim("End of lesson "+r.l.Name+"."))
	case failed == 0:
		r.printf("\n%s\n", r.st.OK(fmt.Sprintf("End of lesson %s: all %d checks held on the %s trace.", r.l.Name, n, modeWord(r.opts.Mode))))
	default:
		r.printf("\n%s\n", r.st.Fail(fmt.Sprintf("End of lesson %s: %d of %d checks failed on the %s trace — the engine disagrees with the lesson.", r.l.Name, failed, n, modeWord(r.opts.Mode))))
		return fmt.Errorf("lesson %s: %d of %d checks failed: %w", r.l.Name, failed, n, ErrClaimsFailed)
	}
	return nil
}

func modeWord(m Mode) string {
	if m == Live {
		return "live"
	}
	return "recorded"
}

// shellJoin quotes words that need it, for showing a command.
func shellJoin(words []string) string {
	var out []string
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\"'$`\\|&;<>()*?[]{}#") {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// --- recordings ---

// recordingHeader is what the first marker of a recording says.
type recordingHeader struct {
	Lesson string
	Base   string
	Engine string
	Time   time.Time
}

func actionText(lesson string, n int, directive string) string {
	return fmt.Sprintf("%s%s action %d: %s", view.MarkerPrefix, lesson, n, directive)
}

func (r *runner) prepareReplay() (recordingHeader, error) {
	name, base, engine, when, err := view.ReadHeader(r.opts.Recording)
	if err != nil {
		return recordingHeader{}, fmt.Errorf("%s: %w", r.opts.RecordingName, err)
	}
	if name != r.l.Name {
		return recordingHeader{}, fmt.Errorf("%s is a recording of lesson %q, not %q", r.opts.RecordingName, name, r.l.Name)
	}
	return recordingHeader{Lesson: name, Base: base, Engine: engine, Time: when}, nil
}

// splitRecording cuts the recording into one slice of events per engine
// action and checks that the recorded directives are the lesson's.
func (r *runner) splitRecording() error {
	var segs [][]trace.Event
	var texts []string
	cur := -1
	for _, e := range r.opts.Recording {
		if view.IsMarker(e) {
			text := strings.TrimPrefix(e.Message.Text, view.MarkerPrefix)
			if rest, ok := strings.CutPrefix(text, r.l.Name+" action "); ok {
				num, directive, _ := strings.Cut(rest, ": ")
				if n, err := strconv.Atoi(num); err == nil && n == len(segs)+1 {
					segs = append(segs, nil)
					texts = append(texts, directive)
					cur = len(segs) - 1
					continue
				}
				return fmt.Errorf("%s: action marker %q is out of order", r.opts.RecordingName, text)
			}
			continue
		}
		if cur >= 0 {
			segs[cur] = append(segs[cur], e)
		}
	}
	if len(segs) != len(r.actions) {
		return fmt.Errorf("%s has %d recorded actions, but lesson %s (base %s) has %d: the recording is out of date, re-record it (make lessons-record)",
			r.opts.RecordingName, len(segs), r.l.Name, r.base.Name, len(r.actions))
	}
	for i, a := range r.actions {
		if texts[i] != a.Directive {
			return fmt.Errorf("%s: action %d was recorded as `%s`, but the lesson says `%s` (line %d): the recording is out of date, re-record it (make lessons-record)",
				r.opts.RecordingName, i+1, texts[i], a.Directive, a.Line)
		}
	}
	r.segs = segs
	return nil
}

// EncodeEvents writes events as JSON lines (a trace file).
func EncodeEvents(events []trace.Event) ([]byte, error) {
	var buf bytes.Buffer
	w := trace.NewWriter(&buf)
	for _, e := range events {
		w.Record(e)
	}
	return buf.Bytes(), w.Err()
}

// lessonFlags are the run flags berth does not have: what the lesson
// itself does around the command.
type lessonFlags struct {
	StopAfter string // --stop-after
	Ready     string // --ready
}

// displayArgs drops the lesson's own --stop-after and --ready from a run
// directive, so the command shown is one berth really has; it returns
// their values apart.
func displayArgs(action string, args []string) ([]string, lessonFlags) {
	var own lessonFlags
	if action != "run" {
		return args, own
	}
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, inline := strings.Cut(a, "=")
		switch {
		case (name == "--stop-after" || name == "--ready") && (inline || i+1 < len(args)):
			if !inline {
				i++
				value = args[i]
			}
			if name == "--ready" {
				own.Ready = value
			} else {
				own.StopAfter = value
			}
			continue
		case (a == "--name" || a == "-p" || a == "--publish" || a == "--network") && i+1 < len(args):
			out = append(out, a, args[i+1])
			i++
			continue
		case !strings.HasPrefix(a, "-"):
			return append(out, args[i:]...), own // the image: the rest is the command
		}
		out = append(out, a)
	}
	return out, own
}
