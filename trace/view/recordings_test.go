package view

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/trace"
)

// The views are tested on the traces the real engine recorded for the
// lessons. They are read from the lessons' folder, not through package
// lessons, which imports this one.
const recordingsDir = "../../lessons/recordings"

// recordingNames lists the lessons that have a recording.
func recordingNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(recordingsDir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings in %s (%v)", recordingsDir, err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".jsonl"))
	}
	return names
}

// recording reads one lesson's recording.
func recording(t *testing.T, lesson string) []trace.Event {
	t.Helper()
	f, err := os.Open(filepath.Join(recordingsDir, lesson+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	events, err := trace.Read(f)
	if err != nil {
		t.Fatalf("recording of %s: %v", lesson, err)
	}
	return events
}

func recordedModel(t *testing.T, lesson string) *Model {
	t.Helper()
	return NewModel(recording(t, lesson))
}
