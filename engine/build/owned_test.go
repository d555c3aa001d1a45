package build

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/berthkit/berth/engine/store"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// recordingBackend keeps every image the builder committed, as the
// builder and the engine hold them in memory.
type recordingBackend struct {
	*fakeBackend
	committed []*store.Image
}

func (r *recordingBackend) CommitContainer(ctx context.Context, id string, req CommitRequest) (*store.Image, error) {
	img, err := r.fakeBackend.CommitContainer(ctx, id, req)
	if err == nil {
		r.committed = append(r.committed, img)
	}
	return img, err
}

// storedConfig is an image's config as its blob has it.
func storedConfig(t *testing.T, s *store.Store, img *store.Image) ocispec.Image {
	t.Helper()
	data, err := s.ReadBlob(img.Manifest.Config.Digest)
	require.NoError(t, err)
	var cfg ocispec.Image
	require.NoError(t, json.Unmarshal(data, &cfg))
	return cfg
}

// Steps share their environment and history arrays (owned.go), so every
// image must keep what its step gave it: a later ENV of the same variable,
// a later stage built on this one, a LABEL, EXPOSE or VOLUME, never change
// an earlier image's config in memory, and each matches its blob.
func TestMetadataStepsKeepEarlierImages(t *testing.T) {
	f := &recordingBackend{fakeBackend: newFake(t)}
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": `FROM alpine AS a
ARG X=argval
ENV A=1
ENV B=2 C=$A-$X
ENV A=3
LABEL l=1
EXPOSE 80
VOLUME /v
ENV D=4
FROM a AS b
ENV E=5
LABEL m=2
EXPOSE 443
VOLUME /w
FROM a
ENV F=6 A=7 G=${B}
`})
	res, err := Build(context.Background(), f, Options{ContextDir: dir, Remove: true, NoCache: true})
	require.NoError(t, err)
	byStep := map[string]*store.Image{}
	for _, img := range f.committed {
		byStep[img.Config.History[len(img.Config.History)-1].CreatedBy] = img
	}
	env := func(createdBy string) []string {
		img := byStep["/bin/sh -c #(nop)  "+createdBy]
		require.NotNil(t, img, createdBy)
		return img.Config.Config.Env
	}
	require.Equal(t, []string{"PATH=/bin", "A=1"}, env("ENV A=1"))
	require.Equal(t, []string{"PATH=/bin", "A=1", "B=2", "C=1-argval"}, env("ENV B=2 C=1-argval"))
	require.Equal(t, []string{"PATH=/bin", "A=3", "B=2", "C=1-argval"}, env("ENV A=3"))
	aLast := byStep["/bin/sh -c #(nop)  ENV D=4"]
	require.Equal(t, []string{"PATH=/bin", "A=3", "B=2", "C=1-argval", "D=4"}, aLast.Config.Config.Env)
	require.Equal(t, map[string]string{"l": "1"}, aLast.Config.Config.Labels)
	require.Equal(t, map[string]struct{}{"80/tcp": {}}, aLast.Config.Config.ExposedPorts)
	require.Equal(t, map[string]struct{}{"/v": {}}, aLast.Config.Config.Volumes)
	bLast := byStep["/bin/sh -c #(nop)  VOLUME [/w]"]
	require.Equal(t, []string{"PATH=/bin", "A=3", "B=2", "C=1-argval", "D=4", "E=5"}, bLast.Config.Config.Env)
	require.Equal(t, map[string]string{"l": "1", "m": "2"}, bLast.Config.Config.Labels)
	require.Equal(t, map[string]struct{}{"80/tcp": {}, "443/tcp": {}}, bLast.Config.Config.ExposedPorts)
	require.Equal(t, map[string]struct{}{"/v": {}, "/w": {}}, bLast.Config.Config.Volumes)
	require.Equal(t, []string{"PATH=/bin", "A=7", "B=2", "C=1-argval", "D=4", "F=6", "G=2"}, res.Image.Config.Config.Env)
	require.Len(t, res.Image.Config.History, 9)

	for _, img := range f.committed {
		stored := storedConfig(t, f.s, img)
		require.Equal(t, stored.Config.Env, img.Config.Config.Env)
		require.Equal(t, stored.Config.Labels, img.Config.Config.Labels)
		require.Equal(t, stored.Config.ExposedPorts, img.Config.Config.ExposedPorts)
		require.Equal(t, stored.Config.Volumes, img.Config.Config.Volumes)
		require.Equal(t, len(stored.History), len(img.Config.History))
		for i := range stored.History {
			require.Equal(t, stored.History[i].CreatedBy, img.Config.History[i].CreatedBy)
		}
		// Clipped: whoever appends to an image's lists gets a new array.
		require.Equal(t, len(img.Config.Config.Env), cap(img.Config.Config.Env))
		require.Equal(t, len(img.Config.History), cap(img.Config.History))
	}
}

// A run of ENV lines copies neither the environment nor the history from
// step to step: consecutive images hold views of one array each (which is
// what makes a step's cost independent of the lines before it; the
// arrays move only when they grow).
func TestEnvStepsShareArrays(t *testing.T) {
	f := &recordingBackend{fakeBackend: newFake(t)}
	f.base(t, "alpine")
	df := "FROM alpine\n"
	const lines = 200
	for i := range lines {
		df += fmt.Sprintf("ENV V%d=x\n", i)
	}
	dir := writeContext(t, map[string]string{"Dockerfile": df})
	_, err := Build(context.Background(), f, Options{ContextDir: dir, Remove: true, NoCache: true})
	require.NoError(t, err)
	require.Len(t, f.committed, lines)
	envMoves, histMoves := 0, 0
	for i := 1; i < lines; i++ {
		prev, cur := f.committed[i-1].Config, f.committed[i].Config
		if &prev.Config.Env[0] != &cur.Config.Env[0] {
			envMoves++
		}
		if &prev.History[0] != &cur.History[0] {
			histMoves++
		}
	}
	// The first step copies the base image's lists; then the arrays double.
	require.LessOrEqual(t, envMoves, 10, "the environment was copied on %d of %d steps", envMoves, lines)
	require.LessOrEqual(t, histMoves, 10, "the history was copied on %d of %d steps", histMoves, lines)
}
