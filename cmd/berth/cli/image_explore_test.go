package cli

import (
	"strings"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	tea "github.com/charmbracelet/bubbletea"
	digest "github.com/opencontainers/go-digest"
)

func exploreFixture() *engine.ExploredImage {
	img := &store.Image{ID: digest.NewDigestFromEncoded(digest.SHA256, strings.Repeat("ab", 32)), Refs: []string{"docker.io/library/waste:latest"}}
	return &engine.ExploredImage{Image: img, Size: 3000, Wasted: 11, Layers: []engine.ExploredLayer{
		{Index: 0, Size: 2000, CreatedBy: "ADD base", Files: []engine.ExploredFile{
			{Path: "/bin", Kind: layer.ChangeAdd, Dir: true},
			{Path: "/bin/busybox", Kind: layer.ChangeAdd, Size: 1000},
			{Path: "/bin/sh", Kind: layer.ChangeAdd, Link: "/bin/busybox", HardLink: true},
		}},
		{Index: 1, Size: 1000, CreatedBy: "RUN make", Wasted: 11, Files: []engine.ExploredFile{
			{Path: "/data", Kind: layer.ChangeAdd, Dir: true},
			{Path: "/data/note", Kind: layer.ChangeAdd, Size: 6, Hidden: true},
			{Path: "/data/tmp.txt", Kind: layer.ChangeAdd, Size: 5, Hidden: true},
			{Path: "/etc/motd", Kind: layer.ChangeModify, Size: 3},
		}},
	}}
}

func TestRenderExplorePlain(t *testing.T) {
	var b strings.Builder
	renderExplorePlain(&b, exploreFixture(), "waste")
	want := `Image waste:latest (abababababab): 2 layers, 3kB, 11B wasted

Layer 1/2   2kB  0B wasted
  created by: ADD base
  A           /bin/
  A      1kB  /bin/busybox
  A           /bin/sh link to /bin/busybox

Layer 2/2   1kB  11B wasted
  created by: RUN make
  A           /data/
  A       6B  /data/note  (wasted: a later layer overwrites or removes it)
  A       5B  /data/tmp.txt  (wasted: a later layer overwrites or removes it)
  C       3B  /etc/motd

Wasted space: 11B in 2 files that a later layer overwrites or removes
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// The interactive model: keys move between layers and panes, w filters,
// q quits; the view shows the selected layer's tree.
func TestExploreModelKeys(t *testing.T) {
	m := &exploreModel{x: exploreFixture(), title: "t", width: 120, height: 40}
	press := func(k string) tea.Cmd {
		_, cmd := m.Update(tea.KeyMsg(tea.Key{Type: tea.KeyRunes, Runes: []rune(k)}))
		return cmd
	}
	if v := m.View(); !strings.Contains(v, "▸ Layer 1/2") || !strings.Contains(v, "  busybox") || !strings.Contains(v, "sh link to /bin/busybox") {
		t.Fatalf("first view:\n%s", v)
	}
	press("j")
	if m.layer != 1 || !strings.Contains(m.View(), "Files of layer 2/2") {
		t.Fatalf("after j: layer %d", m.layer)
	}
	press("j") // the last layer stays selected
	press("w")
	if got := len(m.shown()); got != 2 || !strings.Contains(m.View(), "(wasted only)") {
		t.Errorf("w shows %d files", got)
	}
	press("k")
	if m.layer != 0 || len(m.shown()) != 0 || !strings.Contains(m.View(), "(no files)") {
		t.Errorf("after k: layer %d, %d files", m.layer, len(m.shown()))
	}
	if cmd := press("q"); cmd == nil {
		t.Error("q does not quit")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q does not quit")
	}
}
