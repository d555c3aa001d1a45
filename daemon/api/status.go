package api

import (
	"net/http"

	"github.com/berthkit/berth/engine/errdefs"
)

// statuses is Docker's HTTP status for each error class; a class not
// listed (Unknown) is 500. The daemon answers with it and the client reads
// it back, so an error classifies the same on both sides of the socket.
var statuses = map[errdefs.Class]int{
	errdefs.InvalidParameter: http.StatusBadRequest,
	errdefs.NotFound:         http.StatusNotFound,
	errdefs.Conflict:         http.StatusConflict,
	errdefs.Unauthorized:     http.StatusUnauthorized,
	errdefs.Forbidden:        http.StatusForbidden,
	errdefs.Unavailable:      http.StatusServiceUnavailable,
	errdefs.NotImplemented:   http.StatusNotImplemented,
}

// HTTPStatus is the status an error of class c is answered with.
func HTTPStatus(c errdefs.Class) int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ClassOfStatus is the class of an error answered with status: the
// inverse of HTTPStatus; any other status is Unknown.
func ClassOfStatus(status int) errdefs.Class {
	for c, s := range statuses {
		if s == status {
			return c
		}
	}
	return errdefs.Unknown
}
