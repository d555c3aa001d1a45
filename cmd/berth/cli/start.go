package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

type startOptions struct {
	attach      bool
	interactive bool
	containers  []string
	stdin       io.Reader
	out, errOut io.Writer
}

func newStartCmd(g *globalOptions) *cobra.Command {
	opts := &startOptions{}
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Long: `Start created or stopped containers. Without -a they run detached: a
supervising berth process keeps their output (berth logs) and records their
exit. With -a, berth stays attached and exits with the container's code.`,
		Example: `  berth start web
  berth start -ai box`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.stdin, opts.out, opts.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runStart(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.attach, "attach", "a", false, "attach STDOUT/STDERR and forward signals")
	f.BoolVarP(&opts.interactive, "interactive", "i", false, "attach container's STDIN")
	return cmd
}

func runStart(ctx context.Context, g *globalOptions, opts *startOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	if opts.attach || opts.interactive {
		if len(opts.containers) > 1 {
			return errors.New("you cannot start and attach multiple containers at once")
		}
		c, err := eng.Container(ctx, opts.containers[0])
		if err != nil {
			return err
		}
		if c.State.Running() {
			return fmt.Errorf("container %s is already running: berth cannot attach to a running container", c.ShortID())
		}
		code, err := attachRun(ctx, eng, c.ID, attachSpec{
			tty: c.Config.Tty, interactive: opts.interactive && c.Config.OpenStdin, sigProxy: true,
			stdin: opts.stdin, out: opts.out, errOut: opts.errOut,
		})
		if err != nil {
			return err
		}
		if code != 0 {
			return &ExitError{Code: code, Silent: true}
		}
		return nil
	}
	return forEachContainer(opts.containers, opts.out, opts.errOut, func(name string) error {
		if err := eng.StartContainer(ctx, name); err != nil {
			return startError(err).(*ExitError).Err
		}
		return nil
	})
}

// forEachContainer runs fn for each name, prints the name when it worked
// and the error when not, as docker's multi-container verbs do, and fails
// at the end if any did.
func forEachContainer(names []string, out, errOut io.Writer, fn func(name string) error) error {
	failed := false
	for _, name := range names {
		if err := fn(name); err != nil {
			fmt.Fprintln(errOut, "Error:", err)
			failed = true
			continue
		}
		fmt.Fprintln(out, name)
	}
	if failed {
		return &ExitError{Code: 1, Silent: true}
	}
	return nil
}
