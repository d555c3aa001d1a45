package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	goruntime "runtime"
	"strings"
	"syscall"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

// DefaultRoot is where berth keeps its state on Linux unless --root or
// BERTH_ROOT say otherwise (elsewhere: defaultRoot).
const DefaultRoot = "/var/lib/berth"

// globalOptions are the flags every verb shares.
type globalOptions struct {
	root  string
	debug bool
	// host is a daemon to talk to (--host, BERTH_HOST); "" runs the engine
	// in-process.
	host string

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	eng *engine.Engine
}

// engine opens the Berth root on first use.
func (g *globalOptions) engine() (*engine.Engine, error) {
	if g.eng != nil {
		return g.eng, nil
	}
	eng, err := engine.Open(g.root, engine.Options{Debug: g.debug})
	if err != nil {
		return nil, err
	}
	g.eng = eng
	return eng, nil
}

func (g *globalOptions) close() {
	if g.eng != nil {
		g.eng.Close()
		g.eng = nil
	}
}

// ExitError makes berth exit with Code after printing Err (unless Err is nil
// or Silent). Docker's own codes: 125 for berth's failures around a
// container, 126 when the command cannot be invoked, 127 when it is not found.
type ExitError struct {
	Code   int
	Err    error
	Silent bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Main runs berth with args (without the program name) and returns the exit code.
func Main(args []string) int {
	if code, ok := internalEntry(args); ok {
		return code
	}
	if code, ok := enterRootless(args); ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels the verb, which cleans up; a second one
	// ends berth at once, should that clean-up ever stall. (AfterFunc: no
	// goroutine waits for that until it happens; and it is unregistered
	// before stop, whose cancel would otherwise start one, and wake or make
	// a thread for it, as berth exits.)
	second := context.AfterFunc(ctx, stop)
	defer func() {
		second()
		stop()
	}()
	g := &globalOptions{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	defer g.close()
	cmd := newRootCmdFor(g, requestedVerb(args))
	cmd.SetArgs(args)
	cmd.SetIn(g.stdin)
	cmd.SetOut(g.stdout)
	cmd.SetErr(g.stderr)
	code, msg := exitStatus(cmd.ExecuteContext(ctx))
	if msg != nil {
		fmt.Fprintln(g.stderr, "Error:", msg)
	}
	return code
}

// rootVerbs are berth's top-level commands with their help group, each
// named as its command is (TestRootVerbsNamed). A berth process builds only
// the one it runs (requestedVerb): the whole tree is about 40 commands and
// 600 flags, a millisecond and 300 KB of garbage on every start.
var rootVerbs = []struct {
	group, name string
	new         func(*globalOptions) *cobra.Command
}{
	{"build", "build", newBuildCmd}, {"build", "commit", newCommitCmd},

	{"images", "images", newImagesCmd}, {"images", "tag", newTagCmd}, {"images", "rmi", newRmiCmd},
	{"images", "inspect", newInspectCmd}, {"images", "history", newHistoryCmd},
	{"images", "import", newImportCmd}, {"images", "save", newSaveCmd}, {"images", "load", newLoadCmd},
	{"images", "image", newImageCmd}, {"images", "bootstrap", newBootstrapCmd},
	{"images", "pull", newPullCmd}, {"images", "push", newPushCmd}, {"images", "login", newLoginCmd},
	{"images", "logout", newLogoutCmd}, {"images", "registry", newRegistryCmd},

	{"containers", "run", newRunCmd}, {"containers", "create", newCreateCmd},
	{"containers", "start", newStartCmd}, {"containers", "ps", newPsCmd},
	{"containers", "stop", newStopCmd}, {"containers", "kill", newKillCmd},
	{"containers", "rm", newRmCmd}, {"containers", "exec", newExecCmd},
	{"containers", "logs", newLogsCmd}, {"containers", "pause", newPauseCmd},
	{"containers", "unpause", newUnpauseCmd}, {"containers", "wait", newWaitCmd},
	{"containers", "container", newContainerCmd}, {"containers", "diff", newDiffCmd},
	{"containers", "top", newTopCmd}, {"containers", "network", newNetworkCmd},
	{"containers", "port", newPortCmd}, {"containers", "volume", newVolumeCmd},

	{"learn", "lesson", newLessonCmd}, {"learn", "trace", newTraceCmd},

	{"other", "version", newVersionCmd}, {"other", "system", newSystemCmd},
	{"other", "daemon", newDaemonCmd}, {"other", "info", newInfoCmd},
}

// requestedVerb is the top-level command args run, when berth can tell
// before parsing them and it is one of rootVerbs; otherwise "" (no verb,
// help, completion, a mistyped verb, a flag before the verb other than
// berth's own global ones), and the whole tree is built, for help and
// suggestions.
func requestedVerb(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--root" || a == "--host":
			i++ // the flag's value
		case a == "-D" || a == "--debug" || strings.HasPrefix(a, "--root=") || strings.HasPrefix(a, "--host="):
		case strings.HasPrefix(a, "-"):
			return ""
		default:
			for _, v := range rootVerbs {
				if v.name == a {
					return a
				}
			}
			return ""
		}
	}
	return ""
}

// internalEntry routes re-executions of berth by itself (a container's init,
// a detached container's supervisor) before cobra sees the arguments.
func internalEntry(args []string) (int, bool) {
	if len(args) > 0 {
		if fn, ok := internalVerbs[args[0]]; ok {
			return fn(args[1:]), true
		}
	}
	return 0, false
}

// internalVerbs are filled by the files that own a re-exec entry point.
var internalVerbs = map[string]func(args []string) int{}

func newRootCmd(g *globalOptions) *cobra.Command { return newRootCmdFor(g, "") }

// newRootCmdFor builds the command tree with only the top-level command
// only, or with all of them when only is "".
func newRootCmdFor(g *globalOptions, only string) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "Build, run and commit container images, and see every step explained",
		Long: `berth builds container images the way Docker's classic builder does, runs
containers on namespaces and overlayfs, and records every intermediate
container, snapshot and cache decision as a trace that lessons replay.`,
		Example: `  berth bootstrap busybox
  berth build -t rommelrico/redis:latest .
  berth run --rm busybox echo hello
  berth lesson build-cache`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       engine.Version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("root") {
				if env := os.Getenv("BERTH_ROOT"); env != "" {
					g.root = env
				} else if engine.Rootless() {
					g.root = engine.RootlessRoot()
				}
			}
			if !cmd.Flags().Changed("host") {
				if env := os.Getenv("BERTH_HOST"); env != "" {
					g.host = env
				}
			}
			return needsLinux(cmd, goruntime.GOOS, g.host)
		},
	}
	root.SetVersionTemplate("berth version {{.Version}}\n")
	root.PersistentFlags().StringVar(&g.root, "root", defaultRoot(), "where berth keeps images, layers and containers (env BERTH_ROOT)")
	root.PersistentFlags().BoolVarP(&g.debug, "debug", "D", false, "show debug detail")
	root.PersistentFlags().StringVar(&g.host, "host", "", "talk to a berth daemon (unix:///run/berth.sock, tcp://127.0.0.1:2375) instead of running the engine in-process (env BERTH_HOST)")

	root.AddGroup(
		&cobra.Group{ID: "build", Title: "Building images:"},
		&cobra.Group{ID: "images", Title: "Managing images:"},
		&cobra.Group{ID: "containers", Title: "Running containers:"},
		&cobra.Group{ID: "learn", Title: "Learning and teaching:"},
		&cobra.Group{ID: "other", Title: "Other commands:"},
	)
	// With one verb built, cobra's own `completion` command can never be
	// the one that runs (requestedVerb builds the whole tree for it): do
	// not build it on every start.
	root.CompletionOptions.DisableDefaultCmd = only != ""
	for _, v := range rootVerbs {
		if only == "" || v.name == only {
			c := v.new(g)
			c.GroupID = v.group
			root.AddCommand(c)
		}
	}
	dockerHabits(root)
	return root
}
