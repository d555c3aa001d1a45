package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
)

// backend is the engine as the verbs that also work against a daemon see
// it, as podman's ContainerEngine: localBackend runs the engine in this
// process, remoteBackend asks a berth daemon (--host, BERTH_HOST) over the
// Docker API. A verb is written once against it and prints the same lines
// either way; what the daemon cannot do, remoteBackend refuses with a
// notRemote error that says what to do instead.
type backend interface {
	// TraceTo records the engine's events as JSON lines in file until
	// stop is called; "" records nothing.
	TraceTo(file string) (stop func(), err error)
	// AllowInsecure refuses --insecure-registry where the registry
	// settings are not this process's to extend.
	AllowInsecure(registries []string) error

	// CheckBuild refuses, before the context is read, the build options
	// this backend cannot honour.
	CheckBuild(opts *buildOptions, compression layer.Compression) error
	// Build builds bo, printing the console to opts.out and opts.errOut,
	// and returns the new image's ID. A failed step has been printed: its
	// error is a silent ExitError.
	Build(ctx context.Context, opts *buildOptions, bo build.Options, compression layer.Compression) (string, error)
	// Images lists the images, one row per name.
	Images(ctx context.Context, opts engine.ListImagesOptions) ([]imageListing, error)
	// ImageNames lists every name the images carry.
	ImageNames(ctx context.Context) ([]string, error)
	Tag(ctx context.Context, source, target string) error
	RemoveImage(ctx context.Context, name string, opts engine.RemoveImageOptions) ([]engine.RemoveRecord, error)
	// Pull prints the engine's progress lines to opts.Progress.
	Pull(ctx context.Context, name string, opts engine.PullOptions) error
	// RegistryTags lists a repository's tags in its registry.
	RegistryTags(ctx context.Context, repo string, insecure []string) ([]string, error)
	Push(ctx context.Context, name string, opts engine.PushOptions) error
	// Commit returns the new image's ID.
	Commit(ctx context.Context, container string, opts engine.CommitOptions) (string, error)

	// Containers lists the containers (all, or the running ones) that keep
	// accepts, newest first; size fills their sizes.
	Containers(ctx context.Context, all, size bool, keep func(*store.Container) bool) ([]psContainer, error)
	// CreateContainer returns the new container's ID; attachStdin says
	// that a client will attach to its stdin once.
	CreateContainer(ctx context.Context, opts engine.ContainerCreateOptions, attachStdin bool) (string, error)
	// StartContainer starts a container detached; a failure is an
	// ExitError with Docker's exit code.
	StartContainer(ctx context.Context, id string) error
	RemoveContainer(ctx context.Context, id string, force bool) error
	// AttachRun starts a created container attached to as and returns its
	// exit code once it ends (and, with rm, is removed).
	AttachRun(ctx context.Context, id string, rm bool, as attachSpec) (int, error)

	Close()
}

// backend is the daemon at g.host, or the engine in this process.
func (g *globalOptions) backend() (backend, error) {
	if g.host != "" {
		c, err := remoteClient(g)
		if err != nil {
			return nil, err
		}
		return &remoteBackend{c: c}, nil
	}
	eng, err := g.engine()
	if err != nil {
		return nil, err
	}
	return localBackend{eng: eng}, nil
}

// openBackend is g.backend() recording its events in traceFile (when not
// ""), as --trace asks; done stops the recording and closes the backend.
func (g *globalOptions) openBackend(traceFile string) (b backend, done func(), err error) {
	if b, err = g.backend(); err != nil {
		return nil, nil, err
	}
	stop, err := b.TraceTo(traceFile)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, func() { stop(); b.Close() }, nil
}

// imageListing is one row of `images`: one name of an image.
type imageListing struct {
	ID      string
	Created time.Time
	Size    int64
	// Repository and Tag are "<none>" for an image without a name.
	Repository, Tag string
	// Digest is the registry's digest of this name, "" when none is known.
	Digest string
}

// psContainer is one container of `ps`, with what its columns need beyond
// the record.
type psContainer struct {
	c *store.Container
	// imageCurrent: the name the container was created from still names
	// its image (ps shows the name, else the ID).
	imageCurrent bool
	status       string
	// sizeRw and sizeRootFs are what the container wrote, and that plus
	// its image (with size only).
	sizeRw, sizeRootFs int64
}

// repoTags picks repo's tagged names out of names, sorted: what push
// --all-tags pushes.
func repoTags(names []string, repo string) ([]string, error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format: %w", err)
	}
	if !reference.IsNameOnly(named) {
		return nil, fmt.Errorf("tag can't be used with --all-tags/-a")
	}
	var out []string
	for _, name := range names {
		ref, err := reference.ParseNormalizedNamed(name)
		if err != nil || ref.Name() != named.Name() {
			continue
		}
		if _, ok := ref.(reference.Tagged); ok {
			out = append(out, ref.String())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("An image does not exist locally with the tag: %s", reference.FamiliarName(named))
	}
	sort.Strings(out)
	return out, nil
}

// createContainer creates the container, pulling its image as --pull says
// ("always", or "missing" when the engine has no such image), progress on
// errOut.
func createContainer(ctx context.Context, b backend, fl *containerFlags, o engine.ContainerCreateOptions, attachStdin bool, errOut io.Writer) (string, error) {
	po := engine.PullOptions{Platform: fl.platform}
	if !fl.quiet {
		po.Progress = errOut
	}
	if fl.pull == "always" {
		if err := b.Pull(ctx, o.Image, po); err != nil {
			return "", err
		}
	}
	id, err := b.CreateContainer(ctx, o, attachStdin)
	if err == nil || fl.pull != "missing" || !noSuchImage(err) {
		return id, err
	}
	fmt.Fprintf(errOut, "Unable to find image '%s' locally\n", familiarName(o.Image))
	if err := b.Pull(ctx, o.Image, po); err != nil {
		return "", err
	}
	return b.CreateContainer(ctx, o, attachStdin)
}

// noSuchImage: the engine, here or in the daemon, has no such image.
func noSuchImage(err error) bool {
	return (errors.Is(err, store.ErrNotFound) || client.IsNotFound(err)) && strings.HasPrefix(err.Error(), "No such image")
}
