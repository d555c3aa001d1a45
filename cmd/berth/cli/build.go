package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/trace"
	"github.com/spf13/cobra"
)

type buildOptions struct {
	contextArg  string
	tags        []string
	file        string
	buildArgs   []string
	target      string
	labels      []string
	noCache     bool
	rm          bool
	forceRm     bool
	quiet       bool
	network     string
	traceFile   string
	explain     bool
	platform    string
	pull        bool
	iidFile     string
	progress    string
	compression string
	stdin       io.Reader
	out, errOut io.Writer
}

func newBuildCmd(g *globalOptions) *cobra.Command {
	opts := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | -",
		Short: "Build an image from a Dockerfile, step by step, with Docker's classic builder",
		Long: `Build an image from a Dockerfile. Every instruction is a step; RUN steps run in
an intermediate container whose filesystem snapshot becomes a new image that is
forwarded to the next step. Steps whose parent image and instruction were built
before are taken from the cache.

With --trace FILE every step, cache decision, container and snapshot is
recorded as JSON lines (see docs/trace.md); with --explain nothing runs and
each step says whether it would be cached and why not.`,
		Example: `  berth build -t rommelrico/redis:latest .
  berth build --no-cache -f Dockerfile.dev --build-arg VERSION=1.2 .
  berth build --trace build.jsonl -t myapp .
  berth build --explain .
  berth build --progress=plain --iidfile id.txt .
  berth build - < Dockerfile`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := refusedBuildFlag(cmd); err != nil {
				return err
			}
			opts.contextArg = args[0]
			opts.stdin, opts.out, opts.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runBuild(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	addRefusedBuildFlags(f)
	stringArrayVarP(f, &opts.tags, "tag", "t", `name and optionally a tag in the "name:tag" format`)
	f.StringVarP(&opts.file, "file", "f", "", `name of the Dockerfile (default "PATH/Dockerfile")`)
	stringArrayVarP(f, &opts.buildArgs, "build-arg", "", "set build-time variables")
	f.StringVar(&opts.target, "target", "", "set the target build stage to build")
	stringArrayVarP(f, &opts.labels, "label", "", "set metadata for an image")
	f.BoolVar(&opts.noCache, "no-cache", false, "do not use cache when building the image")
	f.BoolVar(&opts.rm, "rm", true, "remove intermediate containers after a build (also after a failed step)")
	f.BoolVar(&opts.forceRm, "force-rm", false, "always remove intermediate containers")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "suppress the build output and print image ID on success")
	f.StringVar(&opts.network, "network", "default", `networking mode for the RUN instructions: "default" (the default bridge, with NAT), "host" or "none"`)
	f.StringVar(&opts.traceFile, "trace", "", "record every build event as JSON lines in FILE")
	f.BoolVar(&opts.explain, "explain", false, "run nothing: say which steps would be cached and why the others would run")
	f.StringVar(&opts.platform, "platform", "", "set platform (only the host's is supported)")
	f.BoolVar(&opts.pull, "pull", false, "always attempt to pull a newer version of the base images")
	f.StringVar(&opts.iidFile, "iidfile", "", "write the image ID to the file")
	f.StringVar(&opts.compression, "compression", "gzip", `compression of the layers the build makes: "gzip" or "zstd" (as BuildKit's compression=zstd; cached steps keep their layers)`)
	f.StringVar(&opts.progress, "progress", "auto", `type of progress output: "auto" or "tty" (the classic builder's steps), "plain" (BuildKit's #n lines), "quiet" (as -q)`)
	return cmd
}

func runBuild(ctx context.Context, g *globalOptions, opts *buildOptions) error {
	if err := checkProgress(opts); err != nil {
		return err
	}
	if opts.iidFile != "" {
		// As docker: no stale ID is left behind if this build fails.
		if err := os.Remove(opts.iidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing image ID file: %w", err)
		}
	}
	compression, err := layerCompression(opts.compression)
	if err != nil {
		return err
	}
	bo := build.Options{
		Tags: opts.tags, Target: opts.target, NoCache: opts.noCache, Remove: opts.rm,
		ForceRemove: opts.forceRm, Network: opts.network, Explain: opts.explain, Platform: opts.platform,
		Pull: opts.pull, BuildArgs: map[string]*string{}, Labels: map[string]string{},
		// The trace and image ID files this build writes are not its input.
		Exclude: []string{opts.traceFile, opts.iidFile},
	}
	switch opts.network {
	case "", "default", "bridge", "host", "none":
	default:
		return fmt.Errorf("network mode %q is not supported: use default, host or none", opts.network)
	}
	for _, a := range opts.buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if ok {
			bo.BuildArgs[k] = &v
		} else {
			bo.BuildArgs[k] = nil
		}
	}
	for _, l := range opts.labels {
		k, v, _ := strings.Cut(l, "=")
		bo.Labels[k] = v
	}
	// Refused before the context (perhaps stdin) is read.
	b, done, err := g.openBackend("")
	if err != nil {
		return err
	}
	defer done()
	if err := b.CheckBuild(opts, compression); err != nil {
		return err
	}
	cleanup, err := resolveContext(opts, &bo)
	if err != nil {
		return err
	}
	defer cleanup()
	id, err := b.Build(ctx, opts, bo, compression)
	if err != nil || opts.explain {
		return err
	}
	return writeIIDFile(opts.iidFile, id)
}

// checkProgress validates --progress; "quiet" is -q. On this classic
// builder "auto" and "tty" print the classic steps (there is no animated
// view); "plain" prints BuildKit's plain lines.
func checkProgress(opts *buildOptions) error {
	switch opts.progress {
	case "", "auto", "tty", "plain":
	case "quiet":
		opts.quiet = true
	case "rawjson":
		return &ExitError{Code: 125, Err: errors.New("--progress=rawjson is not supported by berth build: use --trace FILE for a machine-readable record")}
	default:
		return &ExitError{Code: 125, Err: fmt.Errorf("invalid progress mode %q: use auto, tty, plain or quiet", opts.progress)}
	}
	return nil
}

// writeIIDFile writes the image ID (sha256:...) to --iidfile, as docker:
// no newline.
func writeIIDFile(path, id string) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(id), 0o666); err != nil {
		return fmt.Errorf("write image ID file: %w", err)
	}
	return nil
}

// resolveContext turns the PATH | - argument and -f into build options.
func resolveContext(opts *buildOptions, bo *build.Options) (func(), error) {
	nothing := func() {}
	arg := opts.contextArg
	if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") || strings.HasPrefix(arg, "git@") {
		return nothing, fmt.Errorf("unable to prepare context: remote contexts (%s) are not supported: clone or download it and build the directory", arg)
	}
	if arg == "-" {
		if opts.file == "-" {
			return nothing, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
		}
		data, err := io.ReadAll(opts.stdin)
		if err != nil {
			return nothing, fmt.Errorf("read build context from stdin: %w", err)
		}
		if !looksLikeTar(data) {
			bo.DockerfileContent = data
			return nothing, nil
		}
		// A tar on stdin is a whole context, as with docker build - < ctx.tar.
		dir, err := os.MkdirTemp("", "berth-context-")
		if err != nil {
			return nothing, err
		}
		if _, err := layer.Apply(context.Background(), dir, bytes.NewReader(data), layer.ApplyOptions{Whiteouts: layer.WhiteoutDelete}); err != nil {
			os.RemoveAll(dir)
			return nothing, fmt.Errorf("unpack build context from stdin: %w", err)
		}
		bo.ContextDir = dir
		bo.Dockerfile = "Dockerfile"
		if opts.file != "" {
			bo.Dockerfile = opts.file
		}
		return func() { os.RemoveAll(dir) }, nil
	}
	bo.ContextDir = arg
	switch {
	case opts.file == "-":
		data, err := io.ReadAll(opts.stdin)
		if err != nil {
			return nothing, err
		}
		bo.DockerfileContent = data
		bo.Dockerfile = "Dockerfile"
	case opts.file == "":
		bo.Dockerfile = "Dockerfile"
	default:
		// -f is relative to the current directory, like Docker's CLI.
		abs, err := filepath.Abs(opts.file)
		if err != nil {
			return nothing, err
		}
		ctxAbs, _ := filepath.Abs(arg)
		if rel, err := filepath.Rel(ctxAbs, abs); err == nil && !strings.HasPrefix(rel, "..") {
			bo.Dockerfile = rel
		} else {
			bo.Dockerfile = abs
		}
	}
	return nothing, nil
}

func looksLikeTar(data []byte) bool {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		return true
	}
	return len(data) >= 262 && string(data[257:262]) == "ustar"
}

// renderExplain prints the what-if plan.
func renderExplain(w io.Writer, res *build.Result) {
	cached, would, unknown := 0, 0, 0
	for _, s := range res.Steps {
		fmt.Fprintf(w, "Step %d : %s\n", s.Number, s.Original)
		switch {
		case s.Meta:
			fmt.Fprintf(w, "  an argument for the FROM lines: nothing to build\n")
		case s.Instruction == "FROM" && s.WouldRun:
			fmt.Fprintf(w, "  would pull: %s\n", s.Explanation)
		case s.Instruction == "FROM" && s.Image == "":
			fmt.Fprintf(w, "  base: %s\n", s.Explanation)
		case s.Instruction == "FROM":
			fmt.Fprintf(w, "  base image %s\n", trace.ShortID(s.Image.String()))
			if s.Explanation != "" {
				fmt.Fprintf(w, "  %s\n", s.Explanation)
			}
		case s.Cached:
			cached++
			fmt.Fprintf(w, "  cached (image %s)\n", trace.ShortID(s.Image.String()))
		case s.Reason == build.ReasonParentNew:
			would++
			unknown++
			fmt.Fprintf(w, "  cannot judge: %s\n", s.Explanation)
		default:
			would++
			fmt.Fprintf(w, "  would run: %s\n", s.Explanation)
		}
	}
	if unknown > 0 {
		fmt.Fprintf(w, "%d cached, %d would run (%d of them cannot be judged until the base is pulled)\n", cached, would, unknown)
		return
	}
	fmt.Fprintf(w, "%d cached, %d would run\n", cached, would)
}
