package cli

import (
	"context"
	"io"
	"time"

	"github.com/berthkit/berth/engine"

	"github.com/spf13/cobra"
)

type stopOptions struct {
	timeout     int
	timeoutSet  bool // else each container's own (--stop-timeout)
	signal      string
	containers  []string
	out, errOut io.Writer
}

func newStopCmd(g *globalOptions) *cobra.Command {
	opts := &stopOptions{}
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Long: `Stop running containers: send the stop signal (SIGTERM, or the image's
STOPSIGNAL) to PID 1, and SIGKILL after the timeout. A process that is PID 1 of
its namespace ignores signals it has no handler for, which is why "sleep"
takes the full timeout to stop.`,
		Example: `  berth stop web
  berth stop -t 0 web box`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.timeoutSet = cmd.Flags().Changed("time") || cmd.Flags().Changed("timeout")
			return runStop(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opts.timeout, "time", "t", 10, "seconds to wait before killing the container (default: its --stop-timeout, else 10)")
	f.IntVar(&opts.timeout, "timeout", 10, "alias of --time")
	_ = f.MarkHidden("timeout")
	f.StringVarP(&opts.signal, "signal", "s", "", "signal to send to the container")
	return cmd
}

func runStop(ctx context.Context, g *globalOptions, opts *stopOptions) error {
	eng, err := g.engine()
	if err != nil {
		return err
	}
	timeout := time.Duration(opts.timeout) * time.Second
	if opts.timeout < 0 {
		timeout = -1
	}
	if !opts.timeoutSet {
		timeout = engine.UseStopTimeout
	}
	return forEachContainer(opts.containers, opts.out, opts.errOut, func(name string) error {
		if opts.signal != "" {
			c, err := eng.Container(ctx, name)
			if err != nil {
				return err
			}
			if c.State.Running() {
				if err := eng.KillContainer(ctx, name, opts.signal); err != nil {
					return err
				}
			}
		}
		return eng.StopContainer(ctx, name, timeout)
	})
}
