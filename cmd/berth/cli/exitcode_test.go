package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/berthkit/berth/engine/store"
	"github.com/stretchr/testify/require"
)

func TestExitStatus(t *testing.T) {
	code, msg := exitStatus(nil)
	require.Equal(t, 0, code)
	require.NoError(t, msg)

	// Any class exits 1 with its message, as docker does.
	notFound := fmt.Errorf("No such container: abc: %w", store.ErrNotFound)
	code, msg = exitStatus(notFound)
	require.Equal(t, 1, code)
	require.Equal(t, notFound, msg)

	// A verb's own code, worded or silent, even when wrapped.
	code, msg = exitStatus(fmt.Errorf("run: %w", &ExitError{Code: 125, Err: errors.New("bad flag")}))
	require.Equal(t, 125, code)
	require.EqualError(t, msg, "bad flag")
	code, msg = exitStatus(&ExitError{Code: 3, Silent: true, Err: errors.New("already printed")})
	require.Equal(t, 3, code)
	require.NoError(t, msg)
	code, msg = exitStatus(&ExitError{Code: 130})
	require.Equal(t, 130, code)
	require.NoError(t, msg)
}
