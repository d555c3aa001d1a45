package api

import (
	"net/http"
	"testing"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/stretchr/testify/require"
)

func TestStatusRoundTrip(t *testing.T) {
	for _, c := range []errdefs.Class{
		errdefs.NotFound, errdefs.Conflict, errdefs.InvalidParameter, errdefs.Unauthorized,
		errdefs.Forbidden, errdefs.Unavailable, errdefs.NotImplemented,
	} {
		require.Equal(t, c, ClassOfStatus(HTTPStatus(c)), c.String())
	}
	require.Equal(t, http.StatusInternalServerError, HTTPStatus(errdefs.Unknown))
	require.Equal(t, errdefs.Unknown, ClassOfStatus(http.StatusInternalServerError))
	require.Equal(t, errdefs.Unknown, ClassOfStatus(http.StatusRequestEntityTooLarge))
	require.Equal(t, http.StatusNotFound, HTTPStatus(errdefs.NotFound))
	require.Equal(t, http.StatusBadRequest, HTTPStatus(errdefs.InvalidParameter))
}
