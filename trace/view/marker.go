package view

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthkit/berth/trace"
)

// Marker is a lesson's note in a recording: where an action's events start.
type Marker struct {
	Seq  int64
	Text string
}

// MarkerPrefix starts the message events a live lesson writes into its
// recording, so a replay can find each action's events.
const MarkerPrefix = "berth-lesson: "

// IsMarker reports whether e is a lesson marker rather than an engine message.
func IsMarker(e trace.Event) bool {
	return e.Type == trace.Message && e.Message != nil && strings.HasPrefix(e.Message.Text, MarkerPrefix)
}

// HeaderText is the marker that opens a lesson recording; ReadHeader reads it.
func HeaderText(lesson, base, engine string) string {
	return fmt.Sprintf("%s%s recorded live: base=%s engine=%s", MarkerPrefix, lesson, base, strings.ReplaceAll(engine, " ", "_"))
}

// ReadHeader finds the header marker of a lesson recording.
func ReadHeader(events []trace.Event) (lesson, base, engine string, when time.Time, err error) {
	for _, e := range events {
		if !IsMarker(e) {
			continue
		}
		text := strings.TrimPrefix(e.Message.Text, MarkerPrefix)
		name, rest, ok := strings.Cut(text, " recorded live: ")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "base":
				base = v
			case "engine":
				engine = strings.ReplaceAll(v, "_", " ")
			}
		}
		return name, base, engine, e.Time, nil
	}
	return "", "", "", time.Time{}, errors.New("not a lesson recording: it has no `berth-lesson: ... recorded live` marker (record one with `berth lesson NAME --record DIR`)")
}
