package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
	"github.com/spf13/cobra"
)

// traceFollowOptions are `berth trace follow`'s flags.
type traceFollowOptions struct {
	view string
	out  io.Writer
}

// newTraceFollowCmd is `berth trace follow`: a running daemon's events,
// every client's, as they happen.
func newTraceFollowCmd(g *globalOptions) *cobra.Command {
	opts := &traceFollowOptions{}
	cmd := &cobra.Command{
		Use:   "follow [OPTIONS]",
		Short: "Stream a running daemon's events as they happen (every client's builds and runs)",
		Long: `Connect to a berth daemon (--host, BERTH_HOST, or unix:///run/berth.sock) and
print every event of every build, run, commit, pull and push that any client
asks it for (berth --host ... or the docker command) until interrupted.

  json       one trace event per line, as --trace writes them (berth trace show - reads them)
  classic    the classic builder's console, as the build's client sees it, with the
             "Sending build context" line of the context arriving at the daemon
  annotated  the console with a plain-words line for every event, as lessons narrate`,
		Example: `  berth daemon &
  berth trace follow --view annotated
  berth trace follow > class.jsonl       # then: berth trace html class.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.out = cmd.OutOrStdout()
			return runTraceFollow(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.view, "view", "json", "json, classic or annotated")
	return cmd
}

func runTraceFollow(ctx context.Context, g *globalOptions, opts *traceFollowOptions) error {
	var rec trace.Recorder
	switch opts.view {
	case "json":
	case "classic":
		rec = trace.NewConsole(opts.out, opts.out)
	case "annotated":
		rec = view.NewNarrator(opts.out, view.NewStyle(view.ColorFor(opts.out)), nil)
	default:
		return fmt.Errorf("--view %q: use json, classic or annotated", opts.view)
	}
	if g.host == "" {
		g.host = api.DefaultHost
	}
	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	body, err := c.TraceFollow(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if rec == nil {
			if _, err := opts.out.Write(append(line, '\n')); err != nil {
				return err
			}
			continue
		}
		var ev trace.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("the daemon sent a line that is no trace event: %w", err)
		}
		rec.Record(ev)
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("follow %s: %w", c.Host(), err)
	}
	return nil
}
