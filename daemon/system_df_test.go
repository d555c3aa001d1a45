package daemon

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// /system/df lists exactly what /images/json and /containers/json do: its
// sub-requests run those handlers (subRequest, without net/http/httptest).
func TestSystemDFListsWhatTheListEndpointsDo(t *testing.T) {
	srv, hs := newTestServer(t, Options{})
	id := withBusybox(t, srv)

	resp, body := do(t, "GET", hs.URL+"/v1.47/system/df", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var df struct {
		LayersSize int64
		Images     json.RawMessage
		Containers json.RawMessage
		Volumes    []json.RawMessage
		BuildCache []json.RawMessage
	}
	require.NoError(t, json.Unmarshal(body, &df))
	require.NotZero(t, df.LayersSize)

	_, images := do(t, "GET", hs.URL+"/v1.47/images/json", nil)
	require.JSONEq(t, string(images), string(df.Images))
	var list []struct{ ID string }
	require.NoError(t, json.Unmarshal(df.Images, &list))
	require.Len(t, list, 1)
	require.Equal(t, id, list[0].ID)

	_, ctrs := do(t, "GET", hs.URL+"/v1.47/containers/json?all=1&size=1", nil)
	require.JSONEq(t, string(ctrs), string(df.Containers))
	require.NotNil(t, df.Volumes)
	require.NotNil(t, df.BuildCache)
}

// A sub-request's failure status fails /system/df with the handler's
// message, not with a half-filled answer.
func TestSubRequestReportsAFailedStatus(t *testing.T) {
	srv, _ := newTestServer(t, Options{})
	parent := &request{Request: httptest.NewRequest(http.MethodGet, "/system/df", nil), version: "1.47"}
	teapot := func(w *responseWriter, _ *request) error {
		return writeJSON(w, http.StatusTeapot, map[string]string{"message": "short and stout"})
	}
	_, err := srv.subRequest(parent, teapot, "/images/json")
	require.ErrorContains(t, err, "/images/json: 418")
	require.ErrorContains(t, err, "short and stout")

	ok := func(w *responseWriter, r *request) error {
		return writeJSON(w, http.StatusOK, []string{r.URL.Query().Get("all")})
	}
	got, err := srv.subRequest(parent, ok, "/containers/json?all=1&size=1")
	require.NoError(t, err)
	require.JSONEq(t, `["1"]`, string(got))
}
