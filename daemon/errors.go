package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/registry"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
)

// apiError is an error with the status code Docker's daemon gives it.
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

func badRequestf(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &apiError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

func conflictf(format string, args ...any) error {
	return &apiError{status: http.StatusConflict, msg: fmt.Sprintf(format, args...)}
}

// ErrorResponse is the body of every error response: Docker's
// {"message": ...}, plus the exit code Berth's CLI gives the failure when
// there is one (Docker's clients ignore the extra field).
type ErrorResponse struct {
	Message       string `json:"message"`
	BerthExitCode int    `json:"BerthExitCode,omitempty"`
}

// statusOf maps an engine error to Docker's status code.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) && ae.status != 0 {
		return ae.status
	}
	var re *registry.Error
	if errors.As(err, &re) {
		switch {
		case errors.Is(err, registry.ErrNotFound):
			return http.StatusNotFound
		case errors.Is(err, registry.ErrUnauthorized):
			return http.StatusUnauthorized
		case errors.Is(err, registry.ErrDenied):
			return http.StatusForbidden
		}
		return http.StatusInternalServerError
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict), errors.Is(err, engine.ErrRunning), errors.Is(err, engine.ErrNotRunning):
		return http.StatusConflict
	case errors.Is(err, store.ErrAmbiguous), errors.Is(err, volume.ErrInvalid), errors.Is(err, engine.ErrInvalidRequest):
		return http.StatusBadRequest
	case errors.Is(err, runtime.ErrNotRoot):
		return http.StatusInternalServerError
	case errors.Is(err, engine.ErrLogsNotSupported):
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// writeError writes err as Docker does.
func writeError(w *responseWriter, err error) {
	resp := ErrorResponse{Message: err.Error()}
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
