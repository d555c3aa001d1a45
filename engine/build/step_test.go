package build

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/stretchr/testify/require"
)

// seqBackend logs the container calls of each step, to check that every
// kind of step goes through the notes' sequence.
type seqBackend struct {
	*fakeBackend
	log  []string
	step map[string]int // container → step
}

func (b *seqBackend) CreateContainer(ctx context.Context, req ContainerRequest) (string, error) {
	id, err := b.fakeBackend.CreateContainer(ctx, req)
	b.step[id] = req.Step
	b.log = append(b.log, fmt.Sprintf("%d create %s never-starts=%v parent=%v", req.Step, req.Purpose, req.NeverStarts, req.Parent != nil && req.Parent.ID == req.Image))
	return id, err
}

func (b *seqBackend) RunContainer(ctx context.Context, id string, out, errOut io.Writer) (int, error) {
	b.log = append(b.log, fmt.Sprintf("%d run", b.step[id]))
	return b.fakeBackend.RunContainer(ctx, id, out, errOut)
}

func (b *seqBackend) CommitContainer(ctx context.Context, id string, req CommitRequest) (*store.Image, error) {
	b.log = append(b.log, fmt.Sprintf("%d commit no-layer=%v", req.Step, req.NoLayer))
	return b.fakeBackend.CommitContainer(ctx, id, req)
}

func (b *seqBackend) RemoveContainer(ctx context.Context, id string) error {
	b.log = append(b.log, fmt.Sprintf("%d remove", b.step[id]))
	return b.fakeBackend.RemoveContainer(ctx, id)
}

// Every step after FROM is probe → create → run (RUN only) → commit →
// remove; a cached rebuild creates nothing.
func TestEveryStepCreatesCommitsRemoves(t *testing.T) {
	f := &seqBackend{fakeBackend: newFake(t), step: map[string]int{}}
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"a": "one",
		"Dockerfile": "FROM alpine\nRUN make\nENV A=1\nWORKDIR /app\nCOPY a /app/\n"})
	res, err := Build(context.Background(), f, Options{ContextDir: dir, Remove: true})
	require.NoError(t, err)
	require.Equal(t, []string{
		"2 create build never-starts=false parent=true", "2 run", "2 commit no-layer=false", "2 remove",
		"3 create build never-starts=true parent=true", "3 commit no-layer=true", "3 remove",
		"4 create build never-starts=true parent=true", "4 commit no-layer=false", "4 remove",
		"5 create copy never-starts=true parent=true", "5 commit no-layer=false", "5 remove",
	}, f.log)
	require.Equal(t, 4, res.Ran)

	f.log = nil
	res, err = Build(context.Background(), f, Options{ContextDir: dir, Remove: true})
	require.NoError(t, err)
	require.Empty(t, f.log, "a cached rebuild creates no container")
	require.Equal(t, []bool{false, true, true, true, true}, cachedSteps(res))
	for _, s := range res.Steps[1:] {
		require.Equal(t, ReasonHit, s.Reason)
	}
}

// A failed RUN is not committed, and its container is still removed.
func TestFailedRunIsRemovedNotCommitted(t *testing.T) {
	f := &seqBackend{fakeBackend: newFake(t), step: map[string]int{}}
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine\nRUN exit 3\n"})
	_, err := Build(context.Background(), failingRun{f}, Options{ContextDir: dir, Remove: true})
	var se *StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 3, se.ExitCode)
	require.Equal(t, "The command '/bin/sh -c exit 3' returned a non-zero code: 3", se.Error())
	require.Equal(t, []string{"2 create build never-starts=false parent=true", "2 run", "2 remove"}, f.log)
}

// failingRun exits every RUN with 3.
type failingRun struct{ *seqBackend }

func (b failingRun) RunContainer(ctx context.Context, id string, out, errOut io.Writer) (int, error) {
	_, err := b.seqBackend.RunContainer(ctx, id, out, errOut)
	return 3, err
}
