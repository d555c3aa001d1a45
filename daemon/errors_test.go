package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/registry"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
	"github.com/stretchr/testify/require"
)

// Every package's errors get Docker's status from their class alone.
func TestStatusOfClasses(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	cases := []struct {
		err    error
		status int
	}{
		{wrap(store.ErrNotFound), http.StatusNotFound},
		{wrap(store.ErrConflict), http.StatusConflict},
		{wrap(engine.ErrRunning), http.StatusConflict},
		{wrap(engine.ErrNotRunning), http.StatusConflict},
		{wrap(store.ErrAmbiguous), http.StatusBadRequest},
		{wrap(volume.ErrInvalid), http.StatusBadRequest},
		{wrap(engine.ErrInvalidRequest), http.StatusBadRequest},
		{wrap(engine.ErrLogsNotSupported), http.StatusNotImplemented},
		{wrap(runtime.ErrNotRoot), http.StatusInternalServerError},
		{errors.New("disk on fire"), http.StatusInternalServerError},
		{wrap(&registry.Error{Kind: registry.ErrNotFound, Msg: "manifest unknown"}), http.StatusNotFound},
		{wrap(&registry.Error{Kind: registry.ErrUnauthorized, Msg: "unauthorized"}), http.StatusUnauthorized},
		{wrap(&registry.Error{Kind: registry.ErrDenied, Msg: "denied"}), http.StatusForbidden},
		// Any other registry failure is the daemon's, whatever it wraps.
		{wrap(&registry.Error{Kind: registry.ErrInvalid, Msg: "bad", Err: store.ErrNotFound}), http.StatusInternalServerError},
		{wrap(&http.MaxBytesError{Limit: 1}), http.StatusRequestEntityTooLarge},
		// A handler's own status wins over the class.
		{&apiError{status: http.StatusForbidden, msg: "x", err: store.ErrNotFound}, http.StatusForbidden},
		// The daemon's own refusals carry classes too.
		{badRequestf("invalid filter %q", "x"), http.StatusBadRequest},
		{notFoundf("No such exec instance: %s", "x"), http.StatusNotFound},
		{conflictf("x"), http.StatusConflict},
		{errNotSwarmManager, http.StatusServiceUnavailable},
		{invalidUnlessKnown(errors.New("No command specified")), http.StatusBadRequest},
		{invalidUnlessKnown(wrap(store.ErrNotFound)), http.StatusNotFound},
		{invalidUnlessKnown(wrap(runtime.ErrNotRoot)), http.StatusInternalServerError},
		// Two classes in one chain: not found before conflict, as before.
		{fmt.Errorf("%w: %w", engine.ErrRunning, store.ErrNotFound), http.StatusNotFound},
	}
	for _, c := range cases {
		require.Equal(t, c.status, statusOf(c.err), c.err.Error())
	}
}
