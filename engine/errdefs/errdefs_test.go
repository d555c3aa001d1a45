package errdefs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	errGone = New(NotFound, "gone")
	errBusy = New(Conflict, "busy")
)

func TestOfSentinels(t *testing.T) {
	require.Equal(t, Unknown, Of(nil))
	require.Equal(t, Unknown, Of(errors.New("other")))
	require.Equal(t, NotFound, Of(fmt.Errorf("image busybox: %w", errGone)))
	require.True(t, IsConflict(fmt.Errorf("rm: %w", errBusy)))
	require.False(t, IsNotFound(fmt.Errorf("rm: %w", errBusy)))
	// Two classes in one chain: the one listed first wins, whatever the
	// order of wrapping.
	require.Equal(t, NotFound, Of(fmt.Errorf("%w: %w", errBusy, errGone)))
	require.Equal(t, NotFound, Of(fmt.Errorf("%w: %w", errGone, errBusy)))
}

func TestWithClassKeepsMessageAndChain(t *testing.T) {
	require.Nil(t, WithClass(nil, Forbidden))
	err := WithClass(fmt.Errorf("pull: %w", errGone), Unauthorized)
	require.EqualError(t, err, "pull: gone")
	require.ErrorIs(t, err, errGone)
	// The outermost Classer decides over the sentinel it wraps.
	require.True(t, IsUnauthorized(err))
	require.Equal(t, Unknown, Of(WithClass(errGone, Unknown)))
	require.True(t, IsInvalidParameter(fmt.Errorf("ctx: %w", WithClass(errors.New("bad"), InvalidParameter))))
}

func TestClassString(t *testing.T) {
	require.Equal(t, "not found", NotFound.String())
	require.Equal(t, "not implemented", NotImplemented.String())
	require.Equal(t, "unknown", Class(99).String())
}
