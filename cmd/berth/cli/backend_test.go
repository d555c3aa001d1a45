package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	"github.com/stretchr/testify/require"
)

// Both implementations are backends.
var (
	_ backend = localBackend{}
	_ backend = (*remoteBackend)(nil)
)

func TestRepoTags(t *testing.T) {
	names := []string{
		"docker.io/library/busybox:latest", "docker.io/library/busybox:1.36",
		"docker.io/library/alpine:3", "localhost:5000/busybox:x",
		"docker.io/library/busybox@sha256:" + strings.Repeat("a", 64), "not a name",
	}
	got, err := repoTags(names, "busybox")
	require.NoError(t, err)
	require.Equal(t, []string{"docker.io/library/busybox:1.36", "docker.io/library/busybox:latest"}, got)

	_, err = repoTags(names, "busybox:latest")
	require.EqualError(t, err, "tag can't be used with --all-tags/-a")
	_, err = repoTags(names, "redis")
	require.EqualError(t, err, "An image does not exist locally with the tag: redis")
	_, err = repoTags(names, "UPPER")
	require.ErrorContains(t, err, "invalid reference format")
}

// createBackend records what createContainer asks: the first create
// finds no image unless the image was pulled.
type createBackend struct {
	backend
	calls  []string
	pulled bool
}

func (b *createBackend) Pull(_ context.Context, name string, opts engine.PullOptions) error {
	b.calls = append(b.calls, fmt.Sprintf("pull %s progress=%v", name, opts.Progress != nil))
	b.pulled = true
	return nil
}

func (b *createBackend) CreateContainer(_ context.Context, opts engine.ContainerCreateOptions, attachStdin bool) (string, error) {
	b.calls = append(b.calls, fmt.Sprintf("create %s stdin=%v", opts.Image, attachStdin))
	if !b.pulled {
		return "", fmt.Errorf("No such image: %s: %w", opts.Image, store.ErrNotFound)
	}
	return "c1", nil
}

func TestCreateContainerPull(t *testing.T) {
	for _, tc := range []struct {
		pull, quiet string
		calls       []string
		errOut, err string
	}{
		{pull: "missing", calls: []string{"create busybox stdin=true", "pull busybox progress=true", "create busybox stdin=true"},
			errOut: "Unable to find image 'busybox:latest' locally\n"},
		{pull: "missing", quiet: "q", calls: []string{"create busybox stdin=true", "pull busybox progress=false", "create busybox stdin=true"},
			errOut: "Unable to find image 'busybox:latest' locally\n"},
		{pull: "always", calls: []string{"pull busybox progress=true", "create busybox stdin=true"}},
		{pull: "never", calls: []string{"create busybox stdin=true"}, err: "No such image: busybox: not found"},
	} {
		t.Run(tc.pull+tc.quiet, func(t *testing.T) {
			b := &createBackend{}
			var errOut strings.Builder
			fl := &containerFlags{pull: tc.pull, quiet: tc.quiet != ""}
			id, err := createContainer(context.Background(), b, fl, engine.ContainerCreateOptions{Image: "busybox"}, true, &errOut)
			if tc.err != "" {
				require.ErrorContains(t, err, "No such image: busybox")
			} else {
				require.NoError(t, err)
				require.Equal(t, "c1", id)
			}
			require.Equal(t, tc.calls, b.calls)
			require.Equal(t, tc.errOut, errOut.String())
		})
	}
}

// What needs the engine in this process is refused with the daemon's
// alternative, before any request is sent (the client is nil here).
func TestRemoteRefusals(t *testing.T) {
	ctx := context.Background()
	b := &remoteBackend{}
	stop, err := b.TraceTo("")
	require.NoError(t, err)
	stop()
	_, err = b.TraceTo("t.jsonl")
	require.EqualError(t, err, "--trace is not available with --host (the engine runs in the daemon): record the daemon's events with berth trace follow")
	insecure := "--insecure-registry is not available with --host (the engine runs in the daemon): set it in registries.json of the daemon's root"
	require.NoError(t, b.AllowInsecure(nil))
	require.EqualError(t, b.AllowInsecure([]string{"r:5000"}), insecure)
	require.NoError(t, localBackend{}.AllowInsecure([]string{"r:5000"}))
	require.EqualError(t, b.Pull(ctx, "busybox", engine.PullOptions{InsecureRegistries: []string{"r:5000"}}), insecure)
	require.EqualError(t, b.Push(ctx, "busybox", engine.PushOptions{InsecureRegistries: []string{"r:5000"}}), insecure)
	_, err = b.RegistryTags(ctx, "busybox", nil)
	require.EqualError(t, err, "--all-tags is not available with --host (the engine runs in the daemon): pull the tags one by one")
	_, err = b.Commit(ctx, "web", engine.CommitOptions{Compression: layer.Zstd})
	require.ErrorContains(t, err, "--compression is not supported with --host")
	_, err = b.Build(ctx, &buildOptions{explain: true}, build.Options{}, layer.Gzip)
	require.EqualError(t, err, "--explain is not available with --host (the engine runs in the daemon): run berth build --explain without --host")
	_, err = b.Build(ctx, &buildOptions{progress: "plain"}, build.Options{}, layer.Gzip)
	require.ErrorContains(t, err, "--progress=plain is not available with --host")
	_, err = b.Build(ctx, &buildOptions{}, build.Options{}, layer.Zstd)
	require.ErrorContains(t, err, "--compression is not supported with --host")
}

func TestPsRowImage(t *testing.T) {
	id := "sha256:" + strings.Repeat("b", 64)
	row := func(ref string, current, trunc bool) string {
		c := &store.Container{ImageRef: ref, Image: id}
		return (&psRow{psContainer: psContainer{c: c, imageCurrent: current}, trunc: trunc}).Image()
	}
	require.Equal(t, "busybox", row("busybox", true, true))
	require.Equal(t, strings.Repeat("b", 12), row("busybox", false, true))
	require.Equal(t, id, row("busybox", false, false))
	require.Equal(t, strings.Repeat("b", 12), row("", false, false))
}
