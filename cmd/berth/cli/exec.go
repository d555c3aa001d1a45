package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

type execOptions struct {
	interactive bool
	tty         bool
	detach      bool
	privileged  bool
	env         []string
	envFiles    []string
	workdir     string
	user        string
	container   string
	cmd         []string
	stdin       io.Reader
	out, errOut io.Writer
}

func newExecCmd(g *globalOptions) *cobra.Command {
	opts := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Long: `Run a command inside a running container: berth joins the container's
namespaces (mount, PID, UTS, IPC, network) and cgroups, and runs the command
with the container's user, working directory and privileges unless overridden.`,
		Example: `  berth exec web ps
  berth exec -it box sh
  berth exec -u nobody -w /tmp box id`,
		Args: requireArgs(2, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container, opts.cmd = args[0], args[1:]
			opts.stdin, opts.out, opts.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runExec(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&opts.interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	f.BoolVarP(&opts.tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.BoolVarP(&opts.detach, "detach", "d", false, "detached mode: run command in the background")
	f.BoolVar(&opts.privileged, "privileged", false, "give extended privileges to the command")
	stringArrayVarP(f, &opts.env, "env", "e", "set environment variables")
	stringArrayVarP(f, &opts.envFiles, "env-file", "", "read in a file of environment variables")
	f.StringVarP(&opts.workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&opts.user, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	return cmd
}

func runExec(ctx context.Context, g *globalOptions, opts *execOptions) error {
	if opts.tty && opts.interactive && !opts.detach && !isTerminal(opts.stdin) {
		return errors.New("the input device is not a TTY")
	}
	env, err := readEnv(opts.envFiles, opts.env)
	if err != nil {
		return err
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	as := attachSpec{tty: opts.tty, interactive: opts.interactive, sigProxy: true, stdin: opts.stdin, out: opts.out, errOut: opts.errOut}
	if opts.detach {
		as = attachSpec{}
	}
	stdio, size, restore, err := prepareTerminal(as)
	if err != nil {
		return err
	}
	defer restore()
	p, err := eng.ExecContainer(ctx, opts.container, engine.ExecOptions{
		Cmd: opts.cmd, Env: env, WorkingDir: opts.workdir, User: opts.user, Tty: opts.tty && !opts.detach,
		Privileged: opts.privileged, ConsoleSize: size, Stdio: stdio,
	})
	if err != nil {
		if errors.Is(err, engine.ErrNotRunning) {
			return err
		}
		if se := startError(err).(*ExitError); se.Code != 125 {
			return &ExitError{Code: se.Code, Err: fmt.Errorf("OCI runtime exec failed: exec failed: %w", se.Err)}
		}
		return err
	}
	if opts.detach {
		go func() { _, _ = p.Wait() }()
		return nil
	}
	code, err := waitAttached(p, as)
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: code, Silent: true}
	}
	return nil
}
