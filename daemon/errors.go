package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/engine/errdefs"
)

// apiError is an error with the status code Docker's daemon gives it when
// no error class says it (405, 413), or with the exit code of a container
// that could not start. Every other error's status comes from its class.
type apiError struct {
	status int
	msg    string
	// exitCode, when set, is the exit code `berth run` gives this failure
	// (a container that could not start); clients that know Berth read it.
	exitCode int
	err      error
}

func (e *apiError) Error() string {
	if e.msg == "" && e.err != nil {
		return e.err.Error()
	}
	return e.msg
}

func (e *apiError) Unwrap() error { return e.err }

// classedf is a new error of class c (engine/errdefs), answered with the
// class's status.
func classedf(c errdefs.Class, format string, args ...any) error {
	return errdefs.WithClass(fmt.Errorf(format, args...), c)
}

func badRequestf(format string, args ...any) error {
	return classedf(errdefs.InvalidParameter, format, args...)
}

func notFoundf(format string, args ...any) error {
	return classedf(errdefs.NotFound, format, args...)
}

func conflictf(format string, args ...any) error {
	return classedf(errdefs.Conflict, format, args...)
}

// statusOf is the one place an error gets its HTTP status: the status a
// handler chose for it, 413 for a body over its limit, else the status of
// its class (engine/errdefs; the table is daemon/api's, which the client
// reads back).
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) && ae.status != 0 {
		return ae.status
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return api.HTTPStatus(errdefs.Of(err))
}

// writeError writes err as Docker does.
func writeError(w *responseWriter, err error) {
	resp := api.ErrorResponse{Message: err.Error()}
	var ae *apiError
	if errors.As(err, &ae) {
		resp.BerthExitCode = ae.exitCode
	}
	data, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(statusOf(err))
	_, _ = w.Write(append(data, '\n'))
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
