package view

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/berthkit/berth/trace"
)

// RenderClassic prints events as `berth build` prints them (trace.Console).
// Engine warnings go to errw; lesson markers are left out.
func RenderClassic(w, errw io.Writer, events []trace.Event) {
	c := trace.NewConsole(w, errw)
	for _, e := range events {
		if !IsMarker(e) {
			c.Record(e)
		}
	}
}

// RenderAnnotated prints the classic lines with a plain-words line for
// every event that matters, as lessons narrate them.
func RenderAnnotated(w io.Writer, events []trace.Event, st Style) *Model {
	n := NewNarrator(w, st, nil)
	for _, e := range events {
		if IsMarker(e) {
			n.out.EndLine()
			fmt.Fprintf(n.out, "\n%s\n", st.paint(st.heading, "── "+strings.TrimPrefix(e.Message.Text, MarkerPrefix)))
		}
		n.Record(e)
	}
	n.out.EndLine()
	return n.model
}

// --- tree ---

type treeNode struct {
	label  string
	kids   []*treeNode
	placed bool
}

// RenderTree prints images, containers and snapshots with their parent
// links: each image, the containers created from it, and under each
// container the snapshot taken of it and the image that snapshot became.
func RenderTree(w io.Writer, m *Model, st Style) {
	t := &imageTree{m: m, st: st, images: map[string]*treeNode{}}
	t.collectImages()
	t.hangContainers()
	t.hangOrphans()
	t.markCached()
	roots := 0
	for _, id := range t.order {
		n := t.images[id]
		if n.placed {
			continue
		}
		roots++
		fmt.Fprintln(w, n.label)
		printKids(w, n, "")
	}
	if roots == 0 {
		fmt.Fprintln(w, "(no images in this trace)")
	}
}

// imageTree is RenderTree's working state: one node per image, in the
// order the trace first mentions each.
type imageTree struct {
	m      *Model
	st     Style
	images map[string]*treeNode
	order  []string
}

func (t *imageTree) node(id string) *treeNode {
	if n, ok := t.images[id]; ok {
		return n
	}
	n := &treeNode{}
	t.images[id] = n
	t.order = append(t.order, id)
	return n
}

// collectImages makes a node for every image the trace mentions, in the
// order it appears.
func (t *imageTree) collectImages() {
	m := t.m
	for _, b := range m.Builds {
		for _, s := range b.Steps {
			if s.Info.Instruction == "FROM" && s.ResultImage() != "" {
				t.node(s.ResultImage())
			}
			for _, c := range s.Containers {
				t.node(c.Create.Image)
			}
			if s.Image != nil {
				t.node(s.Image.ID)
			}
		}
	}
	for _, c := range m.Containers {
		if c.Create.Image != "" {
			t.node(c.Create.Image)
		}
	}
	for _, c := range m.Commits {
		if c.Image != nil {
			t.node(c.Image.ID)
		}
	}
	for _, id := range t.order {
		t.images[id].label = imageLabel(m, id, t.st)
	}
}

// hangContainers puts containers under the image they were created from,
// and the image a container's snapshot became under the container.
func (t *imageTree) hangContainers() {
	st := t.st
	for _, c := range t.m.Containers {
		if c.Create.Image == "" {
			continue
		}
		cn := &treeNode{label: containerLabel(c, st)}
		parent := t.images[c.Create.Image]
		parent.kids = append(parent.kids, cn)
		product, snap, layer := t.containerProduct(c)
		if snap != nil {
			cn.kids = append(cn.kids, &treeNode{label: st.paint(st.dim, snapshotLine(snap, layer))})
		} else if layer != nil && layer.Empty {
			cn.kids = append(cn.kids, &treeNode{label: st.paint(st.dim, "no snapshot: nothing changed, no layer")})
		}
		if product != nil {
			if pn, ok := t.images[product.ID]; ok && !pn.placed {
				pn.placed = true
				cn.kids = append(cn.kids, pn)
			}
		}
	}
}

// containerProduct finds what a container became: its build step's
// image, snapshot and layer, or a commit's.
func (t *imageTree) containerProduct(c *ContainerModel) (*trace.ImageInfo, *trace.SnapshotInfo, *trace.LayerInfo) {
	var product *trace.ImageInfo
	var snap *trace.SnapshotInfo
	var layer *trace.LayerInfo
	if b := t.m.Build(c.Build); b != nil {
		if s := b.Step(c.Step); s != nil {
			product, snap, layer = s.Image, s.Snapshot, s.Layer
		}
	}
	for _, cm := range t.m.Commits {
		if cm.Container == c.ID() {
			product, snap, layer = cm.Image, cm.Snapshot, cm.Layer
		}
	}
	return product, snap, layer
}

// hangOrphans puts images whose container the trace did not see under
// their parent.
func (t *imageTree) hangOrphans() {
	for _, id := range t.order {
		n := t.images[id]
		if n.placed {
			continue
		}
		if info, ok := t.m.Images[id]; ok && info.Parent != "" {
			if pn, ok := t.images[info.Parent]; ok && pn != n {
				n.placed = true
				pn.kids = append(pn.kids, n)
			}
		}
	}
}

// markCached says under an image that cached steps reused it.
func (t *imageTree) markCached() {
	for _, b := range t.m.Builds {
		for _, s := range b.Steps {
			if !s.Cached() {
				continue
			}
			if n, ok := t.images[s.ResultImage()]; ok {
				n.kids = append(n.kids, &treeNode{label: t.st.paint(t.st.ok, fmt.Sprintf("↺ reused from the cache by build %d, step %d", b.Index, s.Number()))})
			}
		}
	}
}

func printKids(w io.Writer, n *treeNode, indent string) {
	for i, k := range n.kids {
		branch, next := "├── ", "│   "
		if i == len(n.kids)-1 {
			branch, next = "└── ", "    "
		}
		fmt.Fprintln(w, indent+branch+k.label)
		printKids(w, k, indent+next)
	}
}

func imageLabel(m *Model, id string, st Style) string {
	var facts []string
	if s, ok := m.ImageStep[id]; ok {
		facts = append(facts, fmt.Sprintf("build %d step %d: %s", s.Build.Index, s.Number(), clip(s.Info.Original, 60)))
	} else {
		for _, b := range m.Builds {
			if s := b.Step(1); s != nil && s.Info.Instruction == "FROM" && s.ResultImage() == id {
				facts = append(facts, "base image ("+s.Info.Original+")")
				break
			}
		}
	}
	for _, c := range m.Commits {
		if c.Image != nil && c.Image.ID == id {
			facts = append(facts, "committed from container "+shortID(c.Container))
		}
	}
	if info, ok := m.Images[id]; ok {
		facts = append(facts, plural(info.Layers, "layer"))
		if len(info.Cmd) > 0 {
			j, _ := json.Marshal(info.Cmd)
			facts = append(facts, "CMD "+string(j))
		}
	}
	for _, b := range m.Builds {
		if b.Result() == id {
			facts = append(facts, fmt.Sprintf("result of build %d", b.Index))
		}
		for _, t := range b.Tags {
			if t.Image == id {
				facts = append(facts, "tagged "+t.Ref)
			}
		}
	}
	for _, c := range m.Commits {
		for _, t := range c.Tags {
			if t.Image == id {
				facts = append(facts, "tagged "+t.Ref)
			}
		}
	}
	if len(facts) == 0 {
		facts = append(facts, "not made in this trace")
	}
	return st.paint(st.cmd, "image "+shortID(id)) + "  " + strings.Join(dedupe(facts), " · ")
}

func containerLabel(c *ContainerModel, st Style) string {
	kind := c.Create.Purpose
	switch kind {
	case "build":
		kind = "intermediate container"
	case "copy":
		kind = "intermediate container (copy)"
	case "":
		kind = "container"
	default:
		kind = kind + " container"
	}
	facts := []string{}
	if c.Build != "" && c.Step > 0 {
		facts = append(facts, fmt.Sprintf("step %d", c.Step))
	}
	if c.Create.Name != "" && c.Build == "" {
		facts = append(facts, "name "+c.Create.Name)
	}
	switch {
	case c.Start != nil:
		facts = append(facts, "ran "+clip(cmdString(c.Create.Cmd), 60))
	case c.Create.Purpose == "build" && !c.Create.Started:
		facts = append(facts, "never started ("+clip(cmdString(c.Create.Cmd), 60)+")")
	}
	facts = append(facts, containerPlumbing(c)...)
	if c.Exit != nil && c.Exit.ExitCode != nil {
		facts = append(facts, fmt.Sprintf("exit %d", *c.Exit.ExitCode))
	}
	if c.Paused {
		facts = append(facts, "paused for the commit")
	}
	if c.Remove {
		facts = append(facts, "removed")
	}
	return st.paint(st.narrate, kind+" "+shortID(c.ID())) + "  " + strings.Join(facts, " · ")
}

func snapshotLine(s *trace.SnapshotInfo, l *trace.LayerInfo) string {
	line := fmt.Sprintf("snapshot: %d added, %d changed, %d deleted, %s", s.Added, s.Changed, s.Deleted, humanSize(s.Bytes))
	if l != nil {
		if l.Empty {
			line += " → no layer"
		} else {
			line += fmt.Sprintf(" → layer %s (%s)", shortDigest(l.Digest), humanSize(l.Size))
		}
	}
	return line
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// --- layers ---

// RenderLayers prints the layer stack of the latest build's result, top
// first, with what each step's snapshot changed.
func RenderLayers(w io.Writer, m *Model, st Style) {
	b := m.LastBuild()
	if b == nil {
		fmt.Fprintln(w, "(no build in this trace)")
		return
	}
	for _, row := range LayerStack(m, b) {
		head := fmt.Sprintf("  step %d  %-44s %s", row.Step.Number(), clip(row.Step.Info.Original, 44), row.Summary)
		fmt.Fprintln(w, st.paint(st.cmd, head))
		for i, p := range row.Paths {
			if i == 6 {
				fmt.Fprintln(w, st.paint(st.dim, "           "+morePaths(len(row.Paths)-6, row.Truncated)))
				break
			}
			fmt.Fprintln(w, st.paint(st.dim, "           "+p))
		}
	}
}

// LayerRow is one step of a build's layer stack.
type LayerRow struct {
	Step    *StepModel
	Summary string
	Paths   []string
	// Truncated: the trace lists only the first paths the snapshot
	// changed, so the rest cannot be counted from Paths.
	Truncated bool
	Bytes     int64 // compressed layer size (0: no layer)
	// Uncompressed is the layer's size as a tar, what it takes unpacked.
	Uncompressed int64
	Empty        bool // the step added no layer
	// MadeBy is where the layer was made when the step came from the cache.
	MadeBy *StepModel
}

// LayerStack lists a build's steps top (last) first with the layer each
// added. Cached steps show the layer from the build that made it, when the
// trace has it.
func LayerStack(m *Model, b *BuildModel) []LayerRow {
	var rows []LayerRow
	for i := len(b.Steps) - 1; i >= 0; i-- {
		s := b.Steps[i]
		row := LayerRow{Step: s}
		src := s
		if s.Cached() {
			if made, ok := m.ImageStep[s.ResultImage()]; ok {
				src, row.MadeBy = made, made
			}
		}
		switch {
		case s.Info.Instruction == "FROM":
			layers := ""
			if n, ok := baseLayers(m, b); ok {
				layers = ": " + plural(n, "layer")
			}
			row.Summary = fmt.Sprintf("base image %s%s", orNone(shortID(s.ResultImage())), layers)
		case s.Failed():
			row.Summary = "failed: " + firstLine(s.End.Error)
		case src.Layer == nil && s.Cached():
			row.Summary = fmt.Sprintf("from the cache (image %s); made before this trace began", shortID(s.ResultImage()))
		case src.Layer == nil:
			row.Summary = "(no layer record)"
		case src.Layer.Empty:
			row.Empty = true
			row.Summary = "no layer: only the image's configuration changed"
		default:
			row.Bytes, row.Uncompressed = src.Layer.Size, src.Layer.UncompressedSize
			row.Summary = "+1 layer, " + layerSize(src.Layer.UncompressedSize, src.Layer.Size)
			if src.Snapshot != nil {
				row.Summary += fmt.Sprintf(" (%d added, %d changed, %d deleted)", src.Snapshot.Added, src.Snapshot.Changed, src.Snapshot.Deleted)
				row.Paths = orderPaths(src.Snapshot.Paths)
				row.Truncated = src.Snapshot.Truncated
			}
		}
		if row.MadeBy != nil && row.MadeBy != s && s.Info.Instruction != "FROM" {
			row.Summary += fmt.Sprintf(" — cached, made by build %d", row.MadeBy.Build.Index)
		}
		rows = append(rows, row)
	}
	return rows
}

// baseLayers derives the base image's layer count from the first image the
// build saved on it.
func baseLayers(m *Model, b *BuildModel) (int, bool) {
	for _, s := range b.Steps {
		src := s
		if s.Cached() {
			if made, ok := m.ImageStep[s.ResultImage()]; ok {
				src = made
			}
		}
		if src.Image != nil && src.Layer != nil {
			n := src.Image.Layers
			if !src.Layer.Empty {
				n--
			}
			return n, true
		}
	}
	return 0, false
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// --- explain ---

// RenderExplain prints every cache decision of a build (or of every build
// when b is nil) and why it was taken.
func RenderExplain(w io.Writer, m *Model, b *BuildModel, st Style) {
	builds := m.Builds
	if b != nil {
		builds = []*BuildModel{b}
	}
	if len(builds) == 0 {
		fmt.Fprintln(w, "(no build in this trace)")
		return
	}
	for bi, b := range builds {
		if bi > 0 {
			fmt.Fprintln(w)
		}
		head := fmt.Sprintf("Build %d (%s)", b.Index, shortID(b.ID))
		if b.End != nil {
			if b.Failed() {
				head += ": failed — " + firstLine(b.End.Error)
			} else {
				head += fmt.Sprintf(": %d ran, %d from the cache, result %s", b.End.Ran, b.End.Cached, shortID(b.End.Image))
			}
		}
		if b.Start != nil && b.Start.NoCache {
			head += " (--no-cache)"
		}
		fmt.Fprintln(w, st.paint(st.heading, head))
		for _, s := range b.Steps {
			fmt.Fprintf(w, "Step %d/%d : %s\n", s.Info.Number, s.Info.Total, s.Info.Original)
			c := s.Probe
			switch {
			case s.Info.Instruction == "FROM":
				if s.ResultImage() != "" {
					fmt.Fprintf(w, "  base      image %s — FROM is not looked up in the build cache: the base comes from the store (or a pull)\n", shortID(s.ResultImage()))
				} else if s.Failed() {
					fmt.Fprintf(w, "  base      failed: %s\n", firstLine(s.End.Error))
				} else {
					fmt.Fprintf(w, "  base      scratch (empty)\n")
				}
				continue
			case c == nil:
				fmt.Fprintf(w, "  (no cache decision recorded)\n")
				continue
			case c.Hit:
				fmt.Fprintf(w, "  %s       key: parent %s + %s\n", st.paint(st.ok, "HIT"), shortID(c.Parent), c.Key)
				fmt.Fprintf(w, "            → image %s: %s\n", shortID(c.Image), c.Explanation)
			default:
				fmt.Fprintf(w, "  %s      key: parent %s + %s\n", st.paint(st.fail, "MISS"), orNone(shortID(c.Parent)), c.Key)
				fmt.Fprintf(w, "            %s: %s\n", c.Reason, c.Explanation)
				if c.Previous != "" && !strings.Contains(c.Explanation, c.Previous) {
					fmt.Fprintf(w, "            built on this parent before: %s\n", c.Previous)
				}
				if len(c.Files) > 0 {
					fmt.Fprintf(w, "            changed files: %s\n", strings.Join(c.Files, ", "))
				}
			}
			if s.Failed() {
				fmt.Fprintf(w, "            the step failed: %s\n", firstLine(s.End.Error))
			}
		}
	}
}

// morePaths says how many listed paths are not shown. A trace caps the
// list (truncated): then the number of the others is not in it, and the
// snapshot's counts (added, changed, deleted) stand for the whole.
func morePaths(notShown int, truncated bool) string {
	if truncated {
		return fmt.Sprintf("… and %d more listed, then more the trace does not list", notShown)
	}
	return fmt.Sprintf("… and %d more", notShown)
}
