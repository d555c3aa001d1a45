package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/trace"
	"github.com/spf13/cobra"
)

type commitOptions struct {
	container   string
	ref         string
	author      string
	message     string
	changes     []string
	pause       bool
	compression string
	traceFile   string
	out         io.Writer
}

func newCommitCmd(g *globalOptions) *cobra.Command {
	opts := &commitOptions{}
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Long: `Take a filesystem snapshot of a container (what it added, changed and deleted
on top of its image) and save it, with the container's command and any
--change instructions, as a new image. A running container is paused while
the snapshot is taken unless --pause=false.`,
		Example: `  berth run -it --name redis-box busybox sh     # change things, then in another terminal:
  berth commit -c 'CMD ["redis-server"]' redis-box
  berth commit -a "Ada" -m "add config" redis-box rommelrico/redis:manual`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			if len(args) == 2 {
				opts.ref = args[1]
			}
			opts.out = cmd.OutOrStdout()
			return runCommit(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.author, "author", "a", "", `author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringVarP(&opts.message, "message", "m", "", "commit message")
	stringArrayVarP(f, &opts.changes, "change", "c", "apply Dockerfile instruction to the created image")
	f.BoolVarP(&opts.pause, "pause", "p", true, "pause container during commit")
	f.StringVar(&opts.traceFile, "trace", "", "record the commit's events as JSON lines in FILE")
	f.StringVar(&opts.compression, "compression", "gzip", `compression of the new layer: "gzip" (what every registry and Docker reads) or "zstd" (smaller and faster; needs Docker 23+, containerd 1.5+ or Podman to pull)`)
	return cmd
}

func runCommit(ctx context.Context, g *globalOptions, opts *commitOptions) error {
	compression, err := layerCompression(opts.compression)
	if err != nil {
		return err
	}
	b, done, err := g.openBackend(opts.traceFile)
	if err != nil {
		return err
	}
	defer done()
	id, err := b.Commit(ctx, opts.container, engine.CommitOptions{
		Author: opts.author, Message: opts.message, Changes: opts.changes, Pause: opts.pause, Ref: opts.ref,
		Compression: compression,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.out, id)
	return nil
}

// layerCompression parses --compression: gzip or zstd. "none" is refused:
// an uncompressed layer is valid OCI but Berth's push would send it as is.
func layerCompression(s string) (layer.Compression, error) {
	switch s {
	case "gzip", "":
		return layer.Gzip, nil
	case "zstd":
		return layer.Zstd, nil
	}
	return layer.Gzip, fmt.Errorf("invalid --compression %q: use gzip (the default) or zstd", s)
}

// traceTo records the engine's events in file until stop is called.
func traceTo(eng *engine.Engine, file string) (stop func(), err error) {
	f, err := createTraceFile(file)
	if err != nil {
		return nil, err
	}
	w := trace.NewWriter(f)
	remove := eng.AddRecorder(w)
	return func() {
		remove()
		f.Close()
	}, nil
}
