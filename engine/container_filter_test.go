package engine_test

import (
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
)

// TestMatchContainersLabelsAreANDed: Docker ANDs label filters (compose
// lists a service's containers with project=, service= and oneoff= at
// once); other keys OR their values.
func TestMatchContainersLabelsAreANDed(t *testing.T) {
	writer := &store.Container{ID: "aaaa", Name: "vt_writer_1", Config: store.ContainerConfig{Labels: map[string]string{"project": "vt", "service": "writer"}}}
	reader := &store.Container{ID: "bbbb", Name: "vt_reader_1", Config: store.ContainerConfig{Labels: map[string]string{"project": "vt", "service": "reader"}}}
	match, err := engine.MatchContainers(map[string][]string{"label": {"project=vt", "service=reader"}})
	if err != nil {
		t.Fatal(err)
	}
	if match(writer) || !match(reader) {
		t.Errorf("labels: writer %v reader %v, want false true", match(writer), match(reader))
	}
	match, _ = engine.MatchContainers(map[string][]string{"name": {"writer", "reader"}, "label": {"project"}})
	if !match(writer) || !match(reader) {
		t.Error("names are ORed")
	}
}

func TestNameFilterIsDockersRegexp(t *testing.T) {
	for _, tc := range []struct {
		name, filter string
		want         bool
	}{
		{"one", "one", true},
		{"brave_stonebraker", "one", true}, // Docker's filter matches part of a name
		{"brave_stonebraker", "^one$", false},
		{"one", "^one$", true},
		{"one", "^/one$", true},
		{"web", "/web", true},
		{"a(b", "a(b", true}, // not an expression: plain text
	} {
		match, err := engine.MatchContainers(map[string][]string{"name": {tc.filter}})
		if err != nil {
			t.Fatal(err)
		}
		if got := match(&store.Container{ID: "cccc", Name: tc.name}); got != tc.want {
			t.Errorf("name=%q on %q: %v, want %v", tc.filter, tc.name, got, tc.want)
		}
	}
}
