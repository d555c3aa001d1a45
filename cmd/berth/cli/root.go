package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	goruntime "runtime"
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
	defer stop()
	// The first signal cancels the verb, which cleans up; a second one
	// ends berth at once, should that clean-up ever stall.
	go func() { <-ctx.Done(); stop() }()
	g := &globalOptions{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	defer g.close()
	cmd := newRootCmd(g)
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

func newRootCmd(g *globalOptions) *cobra.Command {
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
				} else if mode, _ := engine.Mode(); mode == engine.ModeRootless {
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
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("build",
		newBuildCmd(g),
		newCommitCmd(g),
	)
	add("images",
		newImagesCmd(g), newTagCmd(g), newRmiCmd(g), newInspectCmd(g), newHistoryCmd(g),
		newImportCmd(g), newSaveCmd(g), newLoadCmd(g), newImageCmd(g), newBootstrapCmd(g),
		newPullCmd(g), newPushCmd(g), newLoginCmd(g), newLogoutCmd(g), newRegistryCmd(g),
	)
	add("containers",
		newRunCmd(g), newCreateCmd(g), newStartCmd(g), newPsCmd(g), newStopCmd(g), newKillCmd(g),
		newRmCmd(g), newExecCmd(g), newLogsCmd(g), newPauseCmd(g), newUnpauseCmd(g), newWaitCmd(g),
		newContainerCmd(g), newDiffCmd(g), newTopCmd(g), newNetworkCmd(g), newPortCmd(g),
	)
	add("containers", newVolumeCmd(g))
	add("learn", newLessonCmd(g), newTraceCmd(g))
	add("other", newVersionCmd(g), newSystemCmd(g), newDaemonCmd(g), newInfoCmd(g))
	dockerHabits(root)
	return root
}
