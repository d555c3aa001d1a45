package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berthkit/berth/daemon"
	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

// runBuildRemote is `berth --host ... build`: the context travels to the
// daemon as a tar (what .dockerignore leaves), the daemon builds, and the
// console it streams back is printed as the in-process build prints it.
func runBuildRemote(ctx context.Context, g *globalOptions, opts *buildOptions) error {
	if opts.explain {
		return notRemote("--explain", "run berth build --explain without --host")
	}
	if opts.traceFile != "" {
		return notRemote("--trace", "record the daemon's events with berth trace follow")
	}
	if opts.progress == "plain" {
		return notRemote("--progress=plain", "run it without --host, or use --progress=auto")
	}
	switch opts.network {
	case "", "default", "bridge", "host", "none":
	default:
		return fmt.Errorf("network mode %q is not supported: use default, host or none", opts.network)
	}
	bo := build.Options{}
	cleanup, err := resolveContext(opts, &bo)
	if err != nil {
		return err
	}
	defer cleanup()
	co := client.BuildOptions{
		Tags: opts.tags, Target: opts.target, NoCache: opts.noCache, Remove: opts.rm,
		ForceRemove: opts.forceRm, Quiet: opts.quiet, NetworkMode: opts.network, Platform: opts.platform,
		Pull: opts.pull, BuildArgs: map[string]*string{}, Labels: map[string]string{},
	}
	for _, a := range opts.buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			// As in-process: a bare NAME takes this environment's value.
			env, found := os.LookupEnv(k)
			if !found {
				co.BuildArgs[k] = nil
				continue
			}
			v = env
		}
		co.BuildArgs[k] = &v
	}
	for _, l := range opts.labels {
		k, v, _ := strings.Cut(l, "=")
		co.Labels[k] = v
	}
	// The context the daemon gets: the directory's files that .dockerignore
	// keeps, and the Dockerfile when it comes from elsewhere (stdin, a path
	// outside the context) under a name of its own.
	dockerfile := bo.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	bctx, err := build.LoadContext(bo.ContextDir, dockerfile)
	if err != nil {
		return err
	}
	var extra []byte
	co.Dockerfile = dockerfile
	switch {
	case bo.DockerfileContent != nil:
		extra = bo.DockerfileContent
	case filepath.IsAbs(dockerfile):
		if extra, err = os.ReadFile(dockerfile); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("Cannot locate specified Dockerfile: %s", dockerfile)
			}
			return fmt.Errorf("read Dockerfile: %w", err)
		}
	}
	if extra != nil && bo.ContextDir != "" {
		co.Dockerfile = ".berth-dockerfile-" + store.RandomID()[:12]
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(client.WriteContextTar(pw, bctx, co.Dockerfile, extra)) }()
	defer pr.Close()

	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	body, err := c.Build(ctx, pr, co)
	if err != nil {
		return err
	}
	defer body.Close()
	var sent sync.Once
	var imageID string
	// The line the in-process console prints when the build starts: here
	// when the daemon's first message shows that it did.
	sending := func() {
		sent.Do(func() {
			if !opts.quiet {
				fmt.Fprintf(opts.out, "Sending build context to Berth engine  %s\n", trace.HumanSize(bctx.TarSize))
			}
		})
	}
	err = client.ReadStream(body, func(m daemon.Message) error {
		sending()
		switch {
		case m.Stream != "":
			writeStream(opts.out, opts.errOut, m.Stream)
		case m.Status != "":
			writeStatus(opts.out, m)
		case m.Aux != nil:
			var aux struct{ ID string }
			_ = json.Unmarshal(*m.Aux, &aux)
			imageID = aux.ID
		}
		return nil
	})
	var se *client.StreamError
	if errors.As(err, &se) && se.Step != 0 {
		fmt.Fprintln(opts.errOut, se.Message)
		return &ExitError{Code: 1, Err: err, Silent: true}
	}
	if err != nil {
		return err
	}
	return writeIIDFile(opts.iidFile, imageID)
}
