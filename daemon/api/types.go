package api

import (
	"encoding/json"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
)

// Message is one message of the JSON streams of build, pull, push and load,
// as Docker's daemon writes them:
//
//	{"stream":"Step 1/3 : FROM busybox\n"}
//	{"status":"Pull complete","id":"a1b2c3d4e5f6"}
//	{"aux":{"ID":"sha256:..."}}
//	{"errorDetail":{"code":3,"message":"..."},"error":"..."}
type Message struct {
	Stream       string               `json:"stream,omitempty"`
	Status       string               `json:"status,omitempty"`
	Progress     *jsonstream.Progress `json:"progressDetail,omitempty"`
	ID           string               `json:"id,omitempty"`
	Error        *jsonstream.Error    `json:"errorDetail,omitempty"`
	ErrorMessage string               `json:"error,omitempty"`
	Aux          *json.RawMessage     `json:"aux,omitempty"`
	// BerthStep is the build step that failed, on a build's error message;
	// Berth's CLI prints a step's failure without the "Error:" prefix, as
	// in-process. Docker's clients ignore it.
	BerthStep int `json:"BerthStep,omitempty"`
}

// StderrStart and StderrEnd wrap what the classic builder writes to its
// standard error (warnings) in a stream message, as Docker's daemon does:
// docker shows it in red; Berth's CLI sends it to its own stderr.
const (
	StderrStart = "\x1b[91m"
	StderrEnd   = "\x1b[0m"
)

// ImageSummary is one entry of GET /images/json: Docker's summary, plus
// the creation time to the nanosecond (berth images computes "CREATED"
// from it as in-process).
type ImageSummary struct {
	image.Summary
	BerthCreated string `json:"BerthCreated,omitempty"`
}

// ErrorResponse is the body of every error response: Docker's
// {"message": ...}, plus the exit code Berth's CLI gives the failure when
// there is one (Docker's clients ignore the extra field).
type ErrorResponse struct {
	Message       string `json:"message"`
	BerthExitCode int    `json:"BerthExitCode,omitempty"`
}
