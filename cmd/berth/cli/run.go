package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// A detached container's supervisor is berth re-executed, and a test binary
// running as berth is its own containers' init (berth's is berth-init);
// those entry points bypass cobra.
func init() {
	internalVerbs[runtime.InitVerb] = runtime.Init
	internalVerbs[engine.ShimVerb] = engine.Supervise
}

type runOptions struct {
	flags     containerFlags
	detach    bool
	sigProxy  bool
	image     string
	args      []string
	stdin     io.Reader
	out       io.Writer
	errOut    io.Writer
	createOpt engine.ContainerCreateOptions
}

func newRunCmd(g *globalOptions) *cobra.Command {
	opts := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Long: `Run a command in a new container: berth creates the container (an overlay
snapshot over the image's layers), then starts it in new mount, PID, UTS and
IPC namespaces with Docker's default capabilities, seccomp profile and masked
paths. The container shares the host's network unless --network none.

berth exits with the container's exit code, or with Docker's codes for its own
failures: 125 (berth failed), 126 (the command cannot be invoked), 127 (the
command was not found).`,
		Example: `  berth run --rm busybox echo hello
  berth run -it --name box busybox sh
  berth run -d --name web busybox httpd -f -p 8080
  berth run --rm --network none --memory 64m --pids-limit 50 busybox sh -c 'ip addr'`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image, opts.args = args[0], args[1:]
			opts.stdin, opts.out, opts.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			co, err := opts.flags.createOptions(cmd, opts.image, opts.args)
			if err != nil {
				return &ExitError{Code: 125, Err: err}
			}
			opts.createOpt = co
			return runRunFunc(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	addContainerFlags(f, &opts.flags)
	f.BoolVarP(&opts.detach, "detach", "d", false, "run container in background and print container ID")
	f.BoolVar(&opts.sigProxy, "sig-proxy", true, "proxy received signals to the process (non-TTY mode only)")
	return cmd
}

// runRunFunc is what run's RunE calls; tests replace it to check parsing.
var runRunFunc = runRun

func runRun(ctx context.Context, g *globalOptions, opts *runOptions) error {
	fl := &opts.flags
	if fl.tty && fl.interactive && !opts.detach && !isTerminal(opts.stdin) {
		return &ExitError{Code: 1, Err: errors.New("the input device is not a TTY")}
	}
	spare := startRunAhead(g, opts)
	b, done, err := g.openBackend(fl.traceFile)
	if err != nil {
		spare.Discard(nil)
		return &ExitError{Code: 125, Err: err}
	}
	defer done()
	if lb, ok := b.(localBackend); ok && spare != nil {
		defer spare.Discard(lb.eng)
	}
	id, err := createContainer(ctx, b, fl, opts.createOpt, !opts.detach && fl.interactive, opts.errOut)
	if err != nil {
		return &ExitError{Code: 125, Err: err}
	}
	if opts.detach {
		if err := b.StartContainer(ctx, id); err != nil {
			if fl.rm {
				_ = b.RemoveContainer(context.WithoutCancel(ctx), id, true)
			}
			return err
		}
		fmt.Fprintln(opts.out, id)
		return nil
	}
	code, err := b.AttachRun(ctx, id, fl.rm, attachSpec{
		tty: fl.tty, interactive: fl.interactive, sigProxy: opts.sigProxy,
		stdin: opts.stdin, out: opts.out, errOut: opts.errOut,
	})
	if err != nil {
		if fl.rm {
			_ = b.RemoveContainer(context.WithoutCancel(ctx), id, true)
		}
		return err
	}
	if code != 0 {
		return &ExitError{Code: code, Silent: true}
	}
	return nil
}

// startRunAhead starts the init of the container run creates ahead, while
// berth opens the store and creates it (engine.StartAhead): for a
// container this process supervises (no daemon, no -d) without a terminal
// or input, whose start cannot take an init started before its options
// were known.
func startRunAhead(g *globalOptions, opts *runOptions) *engine.Spare {
	fl := &opts.flags
	if g.host != "" || opts.detach || fl.tty || fl.interactive {
		return nil
	}
	return engine.StartAhead(&opts.createOpt)
}

// startError turns a failure to start a container into Docker's exit code
// and wording.
func startError(err error) error {
	var se *runtime.StartError
	if errors.As(err, &se) {
		return &ExitError{Code: se.Code, Err: errors.New(se.Message())}
	}
	return &ExitError{Code: 125, Err: err}
}

// attachSpec says how a container or exec is connected to berth's terminal.
type attachSpec struct {
	tty, interactive, sigProxy bool
	stdin                      io.Reader
	out, errOut                io.Writer
}

// attached is what run, start -a and exec drive: a started process.
type attached interface {
	Wait() (int, error)
	Signal(syscall.Signal) error
	Resize(rows, cols uint16) error
}

// attachRun starts a container attached and returns its exit code.
func attachRun(ctx context.Context, eng *engine.Engine, id string, as attachSpec) (int, error) {
	stdio, size, restore, err := prepareTerminal(as)
	if err != nil {
		return 0, &ExitError{Code: 125, Err: err}
	}
	defer restore()
	a, err := eng.StartAttached(ctx, id, engine.AttachOptions{Stdio: stdio, ConsoleSize: size})
	if err != nil {
		return 0, startError(err)
	}
	return waitAttached(a, as)
}

// prepareTerminal connects berth's streams: with a terminal, berth's own
// terminal goes raw (keys reach the container untouched) and its size is
// passed on.
func prepareTerminal(as attachSpec) (engine.Stdio, [2]uint16, func(), error) {
	stdio := engine.Stdio{Out: as.out, Err: as.errOut}
	if as.interactive {
		stdio.In = as.stdin
	}
	var size [2]uint16
	restore := func() {}
	if !as.tty {
		return stdio, size, restore, nil
	}
	if f, ok := as.out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if w, h, err := term.GetSize(int(f.Fd())); err == nil {
			size = [2]uint16{uint16(h), uint16(w)}
		}
	}
	if f, ok := as.stdin.(*os.File); ok && as.interactive && term.IsTerminal(int(f.Fd())) {
		state, err := term.MakeRaw(int(f.Fd()))
		if err != nil {
			return stdio, size, restore, fmt.Errorf("set the terminal to raw mode: %w", err)
		}
		restore = func() { _ = term.Restore(int(f.Fd()), state) }
	}
	return stdio, size, restore, nil
}

// waitAttached forwards signals (and window size changes) to the process
// and waits for it.
func waitAttached(a attached, as attachSpec) (int, error) {
	sigs := make(chan os.Signal, 16)
	var forward []os.Signal
	if as.tty {
		forward = append(forward, resizeSignals...)
	}
	if as.sigProxy && !as.tty {
		forward = append(forward, proxiedSignals...)
	}
	if len(forward) > 0 {
		signal.Notify(sigs, forward...)
		defer signal.Stop(sigs)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		stops := 0
		for {
			select {
			case s := <-sigs:
				if isResizeSignal(s) {
					if f, ok := as.out.(*os.File); ok {
						if w, h, err := term.GetSize(int(f.Fd())); err == nil {
							_ = a.Resize(uint16(h), uint16(w))
						}
					}
					continue
				}
				sig := s.(syscall.Signal)
				if sig == syscall.SIGINT || sig == syscall.SIGTERM {
					// A PID 1 ignores signals it has no handler for: the
					// second Ctrl-C (or SIGTERM) kills it, so the verb ends.
					if stops++; stops > 1 {
						sig = syscall.SIGKILL
					}
				}
				_ = a.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	code, err := a.Wait()
	if err != nil {
		return code, &ExitError{Code: 125, Err: err}
	}
	return code, nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
