package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/lessons"
	"github.com/berthkit/berth/lessons/live"
	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

type lessonOptions struct {
	yes       bool
	pace      time.Duration
	replay    bool
	base      string
	whatIf    string
	record    string
	keep      bool
	recording string
	workdir   string
	quiz      bool
	port      int
	viaDaemon bool

	stdin       io.Reader
	out, errOut io.Writer

	// One reader of stdin for the whole command, shared by the lessons of
	// `lesson all`, so two never compete for a line.
	linesOnce sync.Once
	lines     chan string
	// quit is set when the attendee typed q (or closed the input).
	quit bool
}

// stdinLines starts reading lines from f once and returns them.
func (o *lessonOptions) stdinLines(f *os.File) <-chan string {
	o.linesOnce.Do(func() {
		o.lines = make(chan string)
		go func() {
			r := bufio.NewReader(f)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					close(o.lines)
					return
				}
				o.lines <- line
			}
		}()
	})
	return o.lines
}

func newLessonCmd(g *globalOptions) *cobra.Command {
	opts := &lessonOptions{}
	cmd := &cobra.Command{
		Use:   "lesson [NAME | all] [flags]",
		Short: "Follow a section of the notes on a real build, every event explained",
		Long: `A lesson follows one section of the course notes: it writes a Dockerfile,
builds, runs and commits with the real engine, and narrates every event as it
happens — intermediate containers, snapshots, images forwarded, cache hits and
misses — pausing where the notes make a point. Enter goes on; --yes runs
straight through; --pace 3s pauses for a fixed time.

Live lessons need root on Linux and a base image: alpine if your berth root has
it, else busybox (from your root, or made offline like 'berth bootstrap
busybox'), or --base to choose. Each lesson runs in its own temporary berth
root so its build cache starts empty; your root is only read.

Without root, off Linux, or with --replay, the lesson replays a build the real
engine recorded (shipped inside berth), with the same narration, and says so.
With --what-if DOCKERFILE nothing runs: the builder's cache rules are applied
to the recording to show which steps of your Dockerfile would be cached.`,
		Example: `  berth lesson list
  berth lesson build-cache
  berth lesson build-cache --replay --yes
  berth lesson build-cache --what-if ./Dockerfile
  berth lesson all --yes --pace 2s
  berth lesson cat build-cache > my-lesson.md && berth lesson run ./my-lesson.md`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stdin, opts.out, opts.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if len(args) == 0 {
				return listLessons(opts.out)
			}
			if args[0] == "all" {
				return runAllLessons(cmd.Context(), g, opts)
			}
			l, err := lessons.Get(args[0])
			if err != nil {
				return err
			}
			return runLesson(cmd.Context(), g, opts, l, "")
		},
	}
	lessonFlags(cmd.PersistentFlags(), opts)
	cmd.AddCommand(lessonSubcommands(g, opts)...)
	return cmd
}

// lessonFlags are the flags of `lesson` and its subcommands.
func lessonFlags(f *pflag.FlagSet, opts *lessonOptions) {
	f.BoolVarP(&opts.yes, "yes", "y", false, "run straight through without pausing (for projection and CI)")
	f.DurationVar(&opts.pace, "pace", 0, "pause this long at each stop instead of waiting for Enter")
	f.BoolVar(&opts.replay, "replay", false, "replay the recorded build instead of running the engine")
	f.StringVar(&opts.base, "base", "", "base image for live lessons: alpine, busybox or debian (default: alpine if your root has it, else busybox)")
	f.StringVar(&opts.whatIf, "what-if", "", "run nothing: say which steps of this Dockerfile the recorded cache would serve")
	f.StringVar(&opts.record, "record", "", "write the live lesson's trace to DIR/NAME.jsonl (what make lessons-record does)")
	f.BoolVar(&opts.keep, "keep", false, "keep the live lesson's berth root and workspace afterwards")
	f.BoolVar(&opts.quiz, "quiz", false, "before each rebuild, guess which steps will come from the cache (typed as step numbers)")
	f.StringVar(&opts.recording, "recording", "", "replay this trace file instead of the recording shipped with berth")
	f.StringVar(&opts.workdir, "workdir", "", "make the live lesson's temporary directory here (default $TMPDIR)")
	f.BoolVar(&opts.viaDaemon, "via-daemon", false, "send the live lesson's builds, runs and commits through a running berth daemon (--host, else DOCKER_HOST, else "+api.DefaultHost+")")
	f.IntVar(&opts.port, "port", lessons.DefaultPort, "host port a live lesson publishes redis on (0: a free one)")
}

// lessonSubcommands are `lesson list`, `lesson run FILE` and `lesson cat NAME`.
func lessonSubcommands(g *globalOptions, opts *lessonOptions) []*cobra.Command {
	return []*cobra.Command{
		{
			Use:   "list",
			Short: "List the lessons in the order of the notes",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return listLessons(cmd.OutOrStdout())
			},
		},
		{
			Use:   "run FILE",
			Short: "Run a lesson file of your own (see docs/lessons.md)",
			Example: `  berth lesson cat build-cache > my-lesson.md
  berth lesson run ./my-lesson.md
  berth lesson run ./my-lesson.md --record recordings/   # then: --replay --recording recordings/NAME.jsonl`,
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.stdin, opts.out, opts.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
				data, err := os.ReadFile(args[0])
				if err != nil {
					return fmt.Errorf("read lesson: %w", err)
				}
				l, err := lessons.Parse(args[0], data)
				if err != nil {
					return err
				}
				return runLesson(cmd.Context(), g, opts, l, "")
			},
		},
		{
			Use:   "cat NAME",
			Short: "Print a lesson's Markdown, to copy and edit",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				data, err := lessons.Source(args[0])
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(data)
				return err
			},
		},
	}
}

func listLessons(out io.Writer) error {
	all, err := lessons.All()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTITLE\tDURATION\tNEEDS")
	for _, l := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, l.Title, l.Duration, l.Needs)
	}
	return tw.Flush()
}

func runAllLessons(ctx context.Context, g *globalOptions, opts *lessonOptions) error {
	if opts.whatIf != "" || opts.recording != "" {
		return errors.New("--what-if and --recording apply to one lesson: name it")
	}
	if opts.viaDaemon {
		return errors.New("--via-daemon runs one lesson: the daemon's build cache is shared, so the lessons after the first would find their builds cached; name a lesson")
	}
	all, err := lessons.All()
	if err != nil {
		return err
	}
	var failed []string
	for i, l := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if opts.quit {
			return nil
		}
		err := runLesson(ctx, g, opts, l, fmt.Sprintf("%d/%d", i+1, len(all)))
		if err != nil {
			var exit *ExitError
			if errors.As(err, &exit) && errors.Is(err, lessons.ErrClaimsFailed) {
				failed = append(failed, l.Name)
				continue
			}
			return err
		}
		fmt.Fprintln(opts.out)
	}
	if len(failed) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("the engine disagreed with lessons %s: %w", strings.Join(failed, ", "), lessons.ErrClaimsFailed)}
	}
	return nil
}

// runLesson decides between what-if, replay and live, and runs the lesson.
func runLesson(ctx context.Context, g *globalOptions, opts *lessonOptions, l *lessons.Lesson, position string) error {
	if opts.whatIf != "" {
		return whatIfLesson(opts, l)
	}
	style := view.NewStyle(view.ColorFor(opts.out))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	port, err := lessonPort(opts.port)
	if err != nil {
		return err
	}
	ro := lessons.Options{Out: opts.out, Style: style, Pause: pauser(opts, cancel), Position: position, Port: port}
	if opts.quiz {
		ro.Quiz = quizAsker(opts)
	}
	mode, why, cleanup, err := lessonMode(ctx, g, opts, l, &ro)
	if err != nil {
		return err
	}
	defer cleanup()
	if mode == lessons.Live && !opts.viaDaemon {
		sess, err := live.Prepare(ctx, live.Options{UserRoot: g.root, Base: opts.base, Dir: opts.workdir, Lesson: l.Name, Progress: opts.errOut, BootstrapCache: BootstrapCacheDir()})
		switch {
		case errors.Is(err, live.ErrNoBase) && opts.base == "" && opts.record == "":
			mode, why = lessons.Replay, "Replaying the recording because no base image is at hand ("+err.Error()+")."
		case err != nil:
			return err
		default:
			defer closeSession(opts, sess)
			if l.Name == "manual-commit" && interactive(opts) {
				return manualCommit(ctx, opts, sess, style)
			}
			ro.Mode, ro.Base, ro.Why = lessons.Live, sess.Base, sess.Why
			ro.Backend, ro.Workspace = sess.Backend, sess.Workspace
			closeRecord, err := openRecord(opts, l, &ro)
			if err != nil {
				return err
			}
			defer closeRecord()
		}
	}
	if mode == lessons.Replay {
		if err := prepareReplay(opts, l, &ro, why); err != nil {
			return err
		}
	}
	modeLine := live.ModeLine(ro.Mode == lessons.Replay)
	if opts.viaDaemon {
		modeLine = "Mode: daemon (the engine runs in the berth daemon; this process is its client)."
	}
	ro.Why = strings.TrimSpace(modeLine + "\n" + ro.Why)
	_, err = lessons.Run(ctx, l, ro)
	return lessonExit(opts, l, err)
}

// lessonMode says whether the lesson runs live or replays, and why; a
// lesson sent through a daemon is prepared here (cleanup undoes that).
func lessonMode(ctx context.Context, g *globalOptions, opts *lessonOptions, l *lessons.Lesson, ro *lessons.Options) (lessons.Mode, string, func(), error) {
	nothing := func() {}
	switch {
	case opts.viaDaemon && (opts.replay || opts.recording != ""):
		return 0, "", nothing, errors.New("--via-daemon runs the lesson live through a daemon: drop it to replay, or drop --replay and --recording")
	case opts.replay || opts.recording != "":
		return lessons.Replay, "Replaying, as asked.", nothing, nil
	case opts.viaDaemon:
		// The daemon runs the engine: this process needs neither root nor Linux.
		cleanup, err := prepareDaemonLesson(ctx, g, opts, l, ro)
		if err != nil {
			return 0, "", nothing, err
		}
		return lessons.Live, "", cleanup, nil
	}
	if ok, reason := live.CanRun(); !ok {
		return lessons.Replay, "Replaying the recording because " + reason + ".", nothing, nil
	}
	return lessons.Live, "", nothing, nil
}

// closeSession removes a live lesson's root and workspace, or says where
// they are kept.
func closeSession(opts *lessonOptions, sess *live.Session) {
	if cerr := sess.Close(opts.keep); cerr != nil {
		fmt.Fprintln(opts.errOut, "Error: cleaning up the lesson:", cerr)
	}
	if opts.keep {
		fmt.Fprintf(opts.out, "The lesson's files are kept in %s; its images: berth --root %s images\n", sess.Workspace, sess.Root)
	}
}

// prepareReplay sets ro up to replay the lesson's recording.
func prepareReplay(opts *lessonOptions, l *lessons.Lesson, ro *lessons.Options, why string) error {
	if opts.record != "" {
		return fmt.Errorf("--record needs a live lesson, and this one would be a replay: %s", strings.TrimSuffix(why, "."))
	}
	if opts.base != "" && !opts.replay {
		why += " (--base only applies to live lessons.)"
	}
	events, name, err := lessonRecording(opts, l)
	if err != nil {
		return err
	}
	ro.Mode, ro.Why, ro.Recording, ro.RecordingName = lessons.Replay, why, events, name
	ro.Port = 0 // the recorded port, lessons.DefaultPort: a replay opens none
	return nil
}

// lessonExit turns how a lesson ended into the command's error: nothing
// when the attendee quit, exit 1 with what to do next when it failed.
func lessonExit(opts *lessonOptions, l *lessons.Lesson, err error) error {
	if opts.quit && errors.Is(err, context.Canceled) {
		fmt.Fprintf(opts.out, "\nLesson %s stopped.\n", l.Name)
		return nil
	}
	if errors.Is(err, lessons.ErrClaimsFailed) {
		return &ExitError{Code: 1, Err: err}
	}
	if errors.Is(err, lessons.ErrLiveStepFailed) {
		return &ExitError{Code: 1, Err: fmt.Errorf("%w\nWhat next: fix the cause above and run the lesson again; or go on without root or network with the build the real engine recorded: %s", err, replayCommand(l))}
	}
	return err
}

// replayCommand is the command that replays lesson l.
func replayCommand(l *lessons.Lesson) string {
	if shipped, err := lessons.Get(l.Name); err == nil && shipped != nil {
		return "berth lesson " + l.Name + " --replay"
	}
	return "berth lesson run FILE --replay --recording REC.jsonl (record one with --record DIR where the lesson runs)"
}

// lessonRecording loads --recording, or the recording shipped for the lesson.
func lessonRecording(opts *lessonOptions, l *lessons.Lesson) ([]trace.Event, string, error) {
	if opts.recording != "" {
		events, err := readTraceFile(opts.recording, opts.stdin)
		return events, opts.recording, err
	}
	events, err := lessons.Recording(l.Name)
	if errors.Is(err, lessons.ErrNoRecording) {
		return nil, "", fmt.Errorf("%w: run it live as root on Linux, or give a trace recorded with --record to --recording", err)
	}
	return events, "the recording of " + l.Name, err
}

func whatIfLesson(opts *lessonOptions, l *lessons.Lesson) error {
	events, name, err := lessonRecording(opts, l)
	if err != nil {
		return err
	}
	var content []byte
	if opts.whatIf == "-" {
		content, err = io.ReadAll(opts.stdin)
	} else {
		content, err = os.ReadFile(opts.whatIf)
	}
	if err != nil {
		return fmt.Errorf("--what-if: %w", err)
	}
	m := view.NewModel(events)
	plan, err := lessons.IndexTrace(m).Plan(content)
	if err != nil {
		return fmt.Errorf("--what-if %s: %w", opts.whatIf, err)
	}
	base := "?"
	if _, b, _, _, herr := view.ReadHeader(events); herr == nil {
		base = b
	}
	st := view.NewStyle(view.ColorFor(opts.out))
	fmt.Fprintf(opts.out, "What if you built %s right after %s (base %s, %d builds)?\n", opts.whatIf, name, base, len(m.Builds))
	fmt.Fprintln(opts.out, "Nothing runs: the classic builder's cache rules — parent image + instruction; after the first miss every later step runs — are applied to the recorded cache keys.")
	fmt.Fprintln(opts.out)
	lessons.RenderPlan(opts.out, plan, st)
	if len(plan) > 0 && plan[0].Reason == "parent-new" {
		fmt.Fprintf(opts.out, "The recording was made on base %s: start your Dockerfile with `FROM %s` to compare with it.\n", base, base)
	}
	return nil
}

// pauser returns how a lesson waits at its stops.
func pauser(opts *lessonOptions, cancel context.CancelFunc) func(context.Context) {
	switch {
	case opts.yes:
		return nil
	case opts.pace > 0:
		return func(ctx context.Context) {
			t := time.NewTimer(opts.pace)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	f, ok := opts.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil // nobody to press Enter: run through
	}
	st := view.NewStyle(view.ColorFor(opts.out))
	return func(ctx context.Context) {
		lines := opts.stdinLines(f)
		fmt.Fprint(opts.out, st.Dim("  ⏎ Enter to go on, q to stop "))
		select {
		case line, ok := <-lines:
			if !ok || strings.TrimSpace(line) == "q" {
				opts.quit = true
				cancel()
			}
		case <-ctx.Done():
			fmt.Fprintln(opts.out)
		}
	}
}

// interactive says whether the attendee is at the lesson's terminal to type
// the notes' commands: no --yes, --pace or --record, and stdin a terminal.
func interactive(opts *lessonOptions) bool {
	if opts.yes || opts.pace > 0 || opts.record != "" {
		return false
	}
	f, ok := opts.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// manualCommit runs the notes' manual flow with the attendee typing it.
func manualCommit(ctx context.Context, opts *lessonOptions, sess *live.Session, style view.Style) error {
	mo := live.ManualOptions{Out: opts.out, Style: style}
	if f, ok := opts.stdin.(*os.File); ok {
		mo.Lines = opts.stdinLines(f)
	}
	err := live.ManualCommit(ctx, sess, mo)
	switch {
	case errors.Is(err, live.ErrStopped) || errors.Is(err, context.Canceled):
		fmt.Fprintf(opts.out, "\nLesson manual-commit stopped.\n")
		if errors.Is(err, context.Canceled) {
			return &ExitError{Code: 130, Silent: true}
		}
		return nil
	case err != nil:
		fmt.Fprintf(opts.out, "\n%s\n", style.Fail("✗ The lesson stops here: "+err.Error()))
		return &ExitError{Code: 1, Err: fmt.Errorf("%w: %w\nWhat next: run the lesson again, or go on without root or network with the build the real engine recorded: berth lesson manual-commit --replay", lessons.ErrLiveStepFailed, err)}
	}
	return nil
}

// lessonPort checks --port; 0 picks a port free on the host's loopback now.
func lessonPort(port int) (int, error) {
	if port < 0 || port > 65535 {
		return 0, fmt.Errorf("--port %d: give a TCP port from 1 to 65535, or 0 for a free one", port)
	}
	if port != 0 {
		return port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("--port 0: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// openRecord opens --record's DIR/NAME.jsonl as the lesson's recording.
func openRecord(opts *lessonOptions, l *lessons.Lesson, ro *lessons.Options) (func(), error) {
	if opts.record == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(opts.record, 0o755); err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	f, err := os.Create(filepath.Join(opts.record, l.Name+".jsonl"))
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	ro.Record = f
	return func() { f.Close() }, nil
}

// daemonHost is the daemon --via-daemon talks to: --host (or BERTH_HOST),
// else DOCKER_HOST, else berth daemon's default socket.
func daemonHost(g *globalOptions) string {
	if g.host != "" {
		return g.host
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return api.DefaultHost
}

// prepareDaemonLesson readies ro for a live lesson through a berth daemon
// (--via-daemon); the returned function ends it.
func prepareDaemonLesson(ctx context.Context, g *globalOptions, opts *lessonOptions, l *lessons.Lesson, ro *lessons.Options) (func(), error) {
	sess, err := live.PrepareDaemon(ctx, live.DaemonOptions{Host: daemonHost(g), Base: opts.base, Dir: opts.workdir, Lesson: l.Name})
	if err != nil {
		return nil, err
	}
	closeRecord, err := openRecord(opts, l, ro)
	if err != nil {
		sess.Close(false)
		return nil, err
	}
	ro.Mode, ro.Base, ro.Why = lessons.Live, sess.Base, sess.Why
	ro.Backend, ro.Workspace = sess.Backend, sess.Workspace
	return func() {
		closeRecord()
		if cerr := sess.Close(opts.keep); cerr != nil {
			fmt.Fprintln(opts.errOut, "Error: cleaning up the lesson:", cerr)
		}
		if opts.keep {
			fmt.Fprintf(opts.out, "The lesson's files are kept in %s; its images are the daemon's: berth --host %s images\n", sess.Workspace, sess.Backend.Host)
		}
	}, nil
}
