package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
)

type logsOptions struct {
	follow      bool
	tail        string
	timestamps  bool
	container   string
	out, errOut io.Writer
}

func newLogsCmd(g *globalOptions) *cobra.Command {
	opts := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Long: `Show what a container wrote to stdout and stderr, each line on the stream it
came from. The log is containers/<id>/<id>-json.log in the berth root, in
Docker's json-file format.`,
		Example: `  berth logs web
  berth logs -f --tail 10 web`,
		Args: requireArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runLogs(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.follow, "follow", "f", false, "follow log output")
	f.StringVarP(&opts.tail, "tail", "n", "all", `number of lines to show from the end of the logs`)
	f.BoolVarP(&opts.timestamps, "timestamps", "t", false, "show timestamps")
	return cmd
}

func runLogs(ctx context.Context, g *globalOptions, opts *logsOptions) error {
	tail := -1
	if opts.tail != "all" && opts.tail != "" {
		n, err := strconv.Atoi(opts.tail)
		if err != nil {
			return fmt.Errorf("invalid value for \"tail\": %q is not a number or \"all\"", opts.tail)
		}
		if n >= 0 {
			tail = n
		}
	}
	eng, err := g.engine()
	if err != nil {
		return err
	}
	return eng.ContainerLogs(ctx, opts.container, engine.LogsOptions{
		Follow: opts.follow, Tail: tail, Timestamps: opts.timestamps,
	}, opts.out, opts.errOut)
}
