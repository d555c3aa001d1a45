package lessons

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/berthkit/berth/trace"
)

// The lesson texts, named NN-name.md so they sort in the notes' order.
//
//go:embed content/*.md
var contentFS embed.FS

// The recordings `make lessons-record` made with the real engine, one
// NAME.jsonl per lesson.
//
//go:embed recordings
var recordingsFS embed.FS

// ErrNoRecording is returned when a lesson has no recording to replay.
var ErrNoRecording = errors.New("no recording")

// ErrUnknownLesson is returned for a name that is not a lesson.
var ErrUnknownLesson = errors.New("no such lesson")

var (
	catalogOnce sync.Once
	catalog     []*Lesson
	catalogErr  error
)

// All returns the embedded lessons in the order of the notes.
func All() ([]*Lesson, error) {
	catalogOnce.Do(func() {
		files, err := fs.Glob(contentFS, "content/*.md")
		if err != nil {
			catalogErr = err
			return
		}
		sort.Strings(files)
		seen := map[string]bool{}
		for _, f := range files {
			data, err := contentFS.ReadFile(f)
			if err != nil {
				catalogErr = err
				return
			}
			l, err := Parse(path.Base(f), data)
			if err != nil {
				catalogErr = fmt.Errorf("embedded lesson %w", err)
				return
			}
			l.Source = "embedded"
			if seen[l.Name] {
				catalogErr = fmt.Errorf("embedded lesson %s: name %q used twice", f, l.Name)
				return
			}
			seen[l.Name] = true
			catalog = append(catalog, l)
		}
	})
	return catalog, catalogErr
}

// Get returns the embedded lesson called name.
func Get(name string) (*Lesson, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range all {
		if l.Name == name {
			return l, nil
		}
		names = append(names, l.Name)
	}
	return nil, fmt.Errorf("%w %q: the lessons are %s (berth lesson list)", ErrUnknownLesson, name, strings.Join(names, ", "))
}

// Source returns an embedded lesson's Markdown text, for copying and editing.
func Source(name string) ([]byte, error) {
	files, _ := fs.Glob(contentFS, "content/*.md")
	for _, f := range files {
		data, err := contentFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if l, err := Parse(path.Base(f), data); err == nil && l.Name == name {
			return data, nil
		}
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownLesson, name)
}

// Recording returns the embedded recording of a lesson.
func Recording(name string) ([]trace.Event, error) {
	data, err := recordingsFS.ReadFile("recordings/" + name + ".jsonl")
	if err != nil {
		return nil, fmt.Errorf("lesson %s: %w shipped with this build of berth (make lessons-record makes them)", name, ErrNoRecording)
	}
	events, err := trace.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("recording of lesson %s: %w", name, err)
	}
	return events, nil
}

// RecordingFiles lists the embedded recordings' file names.
func RecordingFiles() []string {
	files, _ := fs.Glob(recordingsFS, "recordings/*.jsonl")
	sort.Strings(files)
	return files
}
