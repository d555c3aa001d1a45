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
	"syscall"
	"time"

	"github.com/distribution/reference"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

// remoteBackend asks a berth daemon over the Docker API: the daemon does
// the work in its own store and streams back what the in-process engine
// would print.
type remoteBackend struct {
	c *client.Client
}

func (b *remoteBackend) Close() { b.c.Close() }

// errRemoteTrace: the events are the daemon's, recorded there.
var errRemoteTrace = notRemote("--trace", "record the daemon's events with berth trace follow")

func (b *remoteBackend) TraceTo(file string) (func(), error) {
	if file != "" {
		return nil, errRemoteTrace
	}
	return func() {}, nil
}

// AllowInsecure: the daemon reaches registries with its own settings.
func (b *remoteBackend) AllowInsecure(registries []string) error {
	if len(registries) > 0 {
		return notRemote("--insecure-registry", "set it in registries.json of the daemon's root")
	}
	return nil
}

// Build sends the context as a tar (what .dockerignore leaves), the
// daemon builds, and the console it streams back is printed as the
// in-process build prints it.
func (b *remoteBackend) Build(ctx context.Context, opts *buildOptions, bo build.Options, compression layer.Compression) (string, error) {
	if err := b.CheckBuild(opts, compression); err != nil {
		return "", err
	}
	co := client.BuildOptions{
		Tags: bo.Tags, Target: bo.Target, NoCache: bo.NoCache, Remove: bo.Remove,
		ForceRemove: bo.ForceRemove, Quiet: opts.quiet, NetworkMode: bo.Network, Platform: bo.Platform,
		Pull: bo.Pull, BuildArgs: map[string]*string{}, Labels: bo.Labels,
	}
	for k, v := range bo.BuildArgs {
		if v == nil {
			// As in-process: a bare NAME takes this environment's value.
			if env, found := os.LookupEnv(k); found {
				v = &env
			}
		}
		co.BuildArgs[k] = v
	}
	bctx, extra, err := remoteContext(&bo, &co)
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(bctx.WriteTar(pw, co.Dockerfile, extra)) }()
	defer pr.Close()
	body, err := b.c.Build(ctx, pr, co)
	if err != nil {
		return "", err
	}
	defer body.Close()
	return readBuildStream(body, opts, bctx.TarSize)
}

// CheckBuild refuses the build options that need the engine here.
func (b *remoteBackend) CheckBuild(opts *buildOptions, compression layer.Compression) error {
	switch {
	case compression != layer.Gzip:
		return errors.New("--compression is not supported with --host: the classic builder's API has no such option; build on the daemon's host")
	case opts.explain:
		return notRemote("--explain", "run berth build --explain without --host")
	case opts.traceFile != "":
		return errRemoteTrace
	case opts.progress == "plain":
		return notRemote("--progress=plain", "run it without --host, or use --progress=auto")
	}
	return nil
}

// remoteContext loads the context the daemon gets: the directory's files
// that .dockerignore keeps, and (extra) the Dockerfile when it comes from
// elsewhere (stdin, a path outside the context) under a name of its own.
func remoteContext(bo *build.Options, co *client.BuildOptions) (*build.Context, []byte, error) {
	dockerfile := bo.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	bctx, err := build.LoadContext(bo.ContextDir, dockerfile)
	if err != nil {
		return nil, nil, err
	}
	var extra []byte
	co.Dockerfile = dockerfile
	switch {
	case bo.DockerfileContent != nil:
		extra = bo.DockerfileContent
	case filepath.IsAbs(dockerfile):
		if extra, err = os.ReadFile(dockerfile); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("Cannot locate specified Dockerfile: %s", dockerfile)
			}
			return nil, nil, fmt.Errorf("read Dockerfile: %w", err)
		}
	}
	if extra != nil && bo.ContextDir != "" {
		co.Dockerfile = ".berth-dockerfile-" + store.RandomID()[:12]
	}
	return bctx, extra, nil
}

// readBuildStream prints the daemon's build messages and returns the
// image ID it ends with.
func readBuildStream(body io.Reader, opts *buildOptions, tarSize int64) (string, error) {
	var sent sync.Once
	var imageID string
	err := client.ReadStream(body, func(m api.Message) error {
		// The line the in-process console prints when the build starts:
		// here when the daemon's first message shows that it did.
		sent.Do(func() {
			if !opts.quiet {
				fmt.Fprintf(opts.out, "Sending build context to Berth engine  %s\n", trace.HumanSize(tarSize))
			}
		})
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
		return "", &ExitError{Code: 1, Err: err, Silent: true}
	}
	return imageID, err
}

// Images is the daemon's list, one row per name.
func (b *remoteBackend) Images(ctx context.Context, opts engine.ListImagesOptions) ([]imageListing, error) {
	list, err := b.c.Images(ctx, opts.All, opts.Reference, opts.Filters)
	if err != nil {
		return nil, err
	}
	var out []imageListing
	for _, s := range list {
		row := imageListing{ID: s.ID, Created: time.Unix(s.Created, 0), Size: s.Size}
		if t, err := time.Parse(time.RFC3339Nano, s.BerthCreated); err == nil {
			row.Created = t
		}
		if len(s.RepoTags) == 0 {
			row.Repository, row.Tag = "<none>", "<none>"
			out = append(out, row)
			continue
		}
		for _, name := range s.RepoTags {
			ref, err := reference.ParseNormalizedNamed(name)
			if err != nil {
				continue
			}
			r := row
			r.Repository, r.Tag = store.SplitFamiliar(ref.String())
			for _, rd := range s.RepoDigests {
				if canonical, err := reference.ParseNormalizedNamed(rd); err == nil && canonical.Name() == ref.Name() {
					if d, ok := canonical.(reference.Canonical); ok {
						r.Digest = d.Digest().String()
					}
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (b *remoteBackend) ImageNames(ctx context.Context) ([]string, error) {
	list, err := b.c.Images(ctx, true, "", nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range list {
		names = append(names, s.RepoTags...)
	}
	return names, nil
}

// Tag sends the whole target as the repository: the daemon's engine
// parses it as in-process.
func (b *remoteBackend) Tag(ctx context.Context, source, target string) error {
	return b.c.Tag(ctx, source, target, "")
}

func (b *remoteBackend) RemoveImage(ctx context.Context, name string, opts engine.RemoveImageOptions) ([]engine.RemoveRecord, error) {
	resp, err := b.c.RemoveImage(ctx, name, opts.Force, opts.NoPrune)
	records := make([]engine.RemoveRecord, 0, len(resp))
	for _, r := range resp {
		records = append(records, engine.RemoveRecord{Untagged: r.Untagged, Deleted: r.Deleted})
	}
	return records, err
}

// Pull has the daemon pull into its store with its own credentials and
// registry settings.
func (b *remoteBackend) Pull(ctx context.Context, name string, opts engine.PullOptions) error {
	if err := b.AllowInsecure(opts.InsecureRegistries); err != nil {
		return err
	}
	if _, err := store.ParseRef(name); err != nil {
		return err
	}
	body, err := b.c.Pull(ctx, name, opts.Platform)
	if err != nil {
		return err
	}
	defer body.Close()
	return printProgress(body, opts.Progress, opts.Quiet || opts.Progress == nil)
}

func (b *remoteBackend) RegistryTags(context.Context, string, []string) ([]string, error) {
	return nil, notRemote("--all-tags", "pull the tags one by one")
}

func (b *remoteBackend) Push(ctx context.Context, name string, opts engine.PushOptions) error {
	if opts.Compression != "" {
		return errors.New("--compression is not supported with --host: the Docker API's push has no such option; push on the daemon's host")
	}
	if err := b.AllowInsecure(opts.InsecureRegistries); err != nil {
		return err
	}
	body, err := b.c.Push(ctx, name)
	if err != nil {
		return err
	}
	defer body.Close()
	return printProgress(body, opts.Progress, opts.Quiet || opts.Progress == nil)
}

func (b *remoteBackend) Commit(ctx context.Context, container string, opts engine.CommitOptions) (string, error) {
	if opts.Compression != layer.Gzip {
		return "", errors.New("--compression is not supported with --host: the Docker API's commit has no such option; commit on the daemon's host")
	}
	return b.c.Commit(ctx, container, client.CommitOptions{
		Repo: opts.Ref, Comment: opts.Message, Author: opts.Author, Changes: opts.Changes, Pause: opts.Pause,
	})
}

// Containers rebuilds each container's record from the daemon's inspect
// answer, so that ps filters and prints it as in-process.
func (b *remoteBackend) Containers(ctx context.Context, all, size bool, keep func(*store.Container) bool) ([]psContainer, error) {
	list, err := b.c.Containers(ctx, all, size, nil)
	if err != nil {
		return nil, err
	}
	var out []psContainer
	for _, sum := range list {
		ins, err := b.c.ContainerInspect(ctx, sum.ID)
		if client.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		ct := containerFromInspect(ins)
		if !keep(ct) {
			continue
		}
		out = append(out, psContainer{
			c: ct, status: sum.Status, sizeRw: sum.SizeRw, sizeRootFs: sum.SizeRootFs,
			// The daemon names the image by the reference while it still
			// points at the container's image.
			imageCurrent: sum.Image != "" && sum.Image != sum.ImageID,
		})
	}
	return out, nil
}

func (b *remoteBackend) CreateContainer(ctx context.Context, opts engine.ContainerCreateOptions, attachStdin bool) (string, error) {
	resp, err := b.c.CreateContainer(ctx, opts.Name, createRequest(opts, attachStdin))
	if err != nil {
		return "", err
	}
	return resp.ID, nil
}

func (b *remoteBackend) StartContainer(ctx context.Context, id string) error {
	if err := b.c.StartContainer(ctx, id); err != nil {
		return remoteStartError(err)
	}
	return nil
}

func (b *remoteBackend) RemoveContainer(ctx context.Context, id string, force bool) error {
	return b.c.RemoveContainer(ctx, id, force)
}

// remoteStartError is startError for the daemon's answer: its exit code
// when the daemon gives one, else docker's reading of the message.
func remoteStartError(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		code := ce.ExitCode
		if code == 0 {
			switch msg := ce.Message; {
			case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
				code = 127
			case strings.Contains(msg, syscall.EACCES.Error()), strings.Contains(msg, syscall.EISDIR.Error()):
				code = 126
			default:
				code = 125
			}
		}
		return &ExitError{Code: code, Err: errors.New(ce.Message)}
	}
	return &ExitError{Code: 125, Err: err}
}

// printProgress prints a pull or push stream; quiet prints nothing.
func printProgress(body io.Reader, out io.Writer, quiet bool) error {
	return client.ReadStream(body, func(m api.Message) error {
		if !quiet {
			if m.Stream != "" {
				io.WriteString(out, m.Stream)
			}
			writeStatus(out, m)
		}
		return nil
	})
}
