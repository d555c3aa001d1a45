package view

import (
	"strings"
	"time"

	"github.com/berthkit/berth/trace"
)

// Model is a trace put back together: builds with their steps, containers
// with their lifecycle, commits, and every image with its parent. It is
// built from events only, so whatever it shows was recorded.
type Model struct {
	Events     []trace.Event
	Builds     []*BuildModel
	Containers []*ContainerModel // every container, in creation order
	Commits    []*CommitModel
	Images     map[string]*trace.ImageInfo // by image ID
	// ImageStep says which build step made an image.
	ImageStep map[string]*StepModel
	Pulls     []*trace.PullInfo
	Markers   []Marker
}

// BuildModel is one build.
type BuildModel struct {
	ID    string
	Index int // 1-based among the trace's builds
	Start *trace.BuildStartInfo
	End   *trace.BuildEndInfo
	Steps []*StepModel
	Tags  []*trace.TagInfo
	// Output holds builder messages outside any container (# Executing ...).
	Messages []string
	Started  time.Time
}

// StepModel is one step of a build.
type StepModel struct {
	Build      *BuildModel
	Info       *trace.StepInfo
	Probe      *trace.CacheInfo
	Containers []*ContainerModel
	Snapshot   *trace.SnapshotInfo
	Layer      *trace.LayerInfo
	Image      *trace.ImageInfo
	End        *trace.StepEndInfo
	StartSeq   int64
	Started    time.Time
	Ended      time.Time
}

// Number is the step's number.
func (s *StepModel) Number() int { return s.Info.Number }

// Ran says the step executed (it was not cached, and it is not FROM).
func (s *StepModel) Ran() bool {
	return s.Info.Instruction != "FROM" && s.End != nil && !s.End.Cached && s.End.Error == ""
}

// Cached says the step came from the cache.
func (s *StepModel) Cached() bool { return s.End != nil && s.End.Cached }

// Failed says the step failed.
func (s *StepModel) Failed() bool { return s.End != nil && s.End.Error != "" }

// ResultImage is the image the step forwarded ("" when unknown).
func (s *StepModel) ResultImage() string {
	if s.End != nil {
		return s.End.Image
	}
	return ""
}

// ContainerModel is one container's life.
type ContainerModel struct {
	Create *trace.ContainerInfo
	Start  *trace.ContainerInfo
	Exit   *trace.ContainerInfo
	Paused bool
	Remove bool
	Build  string
	Step   int
	Output []string
}

// ID is the container's ID.
func (c *ContainerModel) ID() string { return c.Create.ID }

// CommitModel is a `commit`: the snapshot of a container saved as an image.
type CommitModel struct {
	Container string
	Snapshot  *trace.SnapshotInfo
	Layer     *trace.LayerInfo
	Image     *trace.ImageInfo
	Tags      []*trace.TagInfo
}

// NewModel assembles events.
func NewModel(events []trace.Event) *Model {
	m := &Model{Images: map[string]*trace.ImageInfo{}, ImageStep: map[string]*StepModel{}}
	for _, e := range events {
		m.Add(e)
	}
	return m
}

// Add puts one more event into the model.
func (m *Model) Add(e trace.Event) {
	m.Events = append(m.Events, e)
	b := m.Build(e.Build)
	var st *StepModel
	if b != nil && e.Step > 0 {
		st = b.step(e.Step)
	}
	switch e.Type {
	case trace.BuildStart:
		b = &BuildModel{ID: e.Build, Index: len(m.Builds) + 1, Start: e.BuildStartInfo, Started: e.Time}
		m.Builds = append(m.Builds, b)
	case trace.BuildEnd:
		if b != nil {
			b.End = e.BuildEndInfo
		}
	case trace.StepStart:
		if b != nil && e.StepInfo != nil {
			b.Steps = append(b.Steps, &StepModel{Build: b, Info: e.StepInfo, StartSeq: e.Seq, Started: e.Time})
		}
	case trace.StepEnd:
		if st != nil {
			st.End = e.StepEndInfo
			st.Ended = e.Time
		}
	case trace.CacheProbe:
		if st != nil {
			st.Probe = e.Cache
		}
	case trace.ContainerCreate, trace.ContainerStart, trace.ContainerExit, trace.ContainerRemove, trace.ContainerPause, trace.ContainerResume:
		m.addContainer(e, st)
	case trace.Output:
		if e.Output == nil {
			break
		}
		if c := m.Container(e.Output.Container); c != nil {
			c.Output = append(c.Output, e.Output.Text)
		} else if b != nil {
			b.Messages = append(b.Messages, e.Output.Text)
		}
	case trace.Snapshot, trace.Layer, trace.Image:
		m.addArtifact(e, st)
	case trace.Tag:
		if e.Tag == nil {
			break
		}
		if b != nil {
			b.Tags = append(b.Tags, e.Tag)
		} else if c := m.lastCommit(); c != nil && c.Image != nil && c.Image.ID == e.Tag.Image {
			c.Tags = append(c.Tags, e.Tag)
		}
	case trace.PullStart, trace.PullEnd:
		if e.Pull != nil && e.Type == trace.PullEnd {
			m.Pulls = append(m.Pulls, e.Pull)
		}
	case trace.Message:
		if IsMarker(e) {
			m.Markers = append(m.Markers, Marker{Seq: e.Seq, Text: strings.TrimPrefix(e.Message.Text, MarkerPrefix)})
		}
	}
}

// addContainer files a container event under the container's life (and a
// created container under its build step).
func (m *Model) addContainer(e trace.Event, st *StepModel) {
	if e.Container == nil {
		return
	}
	if e.Type == trace.ContainerCreate {
		c := &ContainerModel{Create: e.Container, Build: e.Build, Step: e.Step}
		m.Containers = append(m.Containers, c)
		if st != nil {
			st.Containers = append(st.Containers, c)
		}
		return
	}
	c := m.Container(e.Container.ID)
	if c == nil {
		// A container created before the trace began: keep what we see.
		c = &ContainerModel{Create: &trace.ContainerInfo{ID: e.Container.ID, Image: e.Container.Image, Purpose: e.Container.Purpose}, Build: e.Build, Step: e.Step}
		m.Containers = append(m.Containers, c)
	}
	switch e.Type {
	case trace.ContainerStart:
		c.Start = e.Container
	case trace.ContainerExit:
		c.Exit = e.Container
	case trace.ContainerRemove:
		c.Remove = true
	case trace.ContainerPause:
		c.Paused = true
	}
}

// addArtifact files a snapshot, layer or image under its build step, or
// outside builds under the commit it belongs to.
func (m *Model) addArtifact(e trace.Event, st *StepModel) {
	if st != nil {
		switch e.Type {
		case trace.Snapshot:
			st.Snapshot = e.Snapshot
		case trace.Layer:
			st.Layer = e.Layer
		case trace.Image:
			st.Image = e.Image
		}
	} else {
		m.addCommit(e)
	}
	if e.Type == trace.Image && e.Image != nil {
		m.Images[e.Image.ID] = e.Image
		if st != nil {
			m.ImageStep[e.Image.ID] = st
		}
	}
}

// addCommit files a snapshot, layer or image outside a build under the
// commit it belongs to: a snapshot opens a commit, the image closes it.
func (m *Model) addCommit(e trace.Event) {
	c := m.lastCommit()
	if c == nil || c.Image != nil || (e.Type == trace.Snapshot && (c.Snapshot != nil || c.Layer != nil)) {
		c = &CommitModel{}
		m.Commits = append(m.Commits, c)
	}
	switch e.Type {
	case trace.Snapshot:
		c.Snapshot = e.Snapshot
		c.Container = e.Snapshot.Container
	case trace.Layer:
		c.Layer = e.Layer
	case trace.Image:
		c.Image = e.Image
	}
}

func (m *Model) lastCommit() *CommitModel {
	if len(m.Commits) == 0 {
		return nil
	}
	return m.Commits[len(m.Commits)-1]
}

// Build finds a build by ID ("" and unknown IDs give nil).
func (m *Model) Build(id string) *BuildModel {
	if id == "" {
		return nil
	}
	for i := len(m.Builds) - 1; i >= 0; i-- {
		if m.Builds[i].ID == id {
			return m.Builds[i]
		}
	}
	return nil
}

func (b *BuildModel) step(n int) *StepModel {
	for i := len(b.Steps) - 1; i >= 0; i-- {
		if b.Steps[i].Info.Number == n {
			return b.Steps[i]
		}
	}
	return nil
}

// Step returns step n of the build, or nil.
func (b *BuildModel) Step(n int) *StepModel { return b.step(n) }

// Container finds a container by ID.
func (m *Model) Container(id string) *ContainerModel {
	if id == "" {
		return nil
	}
	for i := len(m.Containers) - 1; i >= 0; i-- {
		if m.Containers[i].Create.ID == id {
			return m.Containers[i]
		}
	}
	return nil
}

// LastBuild is the most recent build, or nil.
func (m *Model) LastBuild() *BuildModel {
	if len(m.Builds) == 0 {
		return nil
	}
	return m.Builds[len(m.Builds)-1]
}

// LastRun is the most recent container created by `run`, or nil.
func (m *Model) LastRun() *ContainerModel {
	for i := len(m.Containers) - 1; i >= 0; i-- {
		if m.Containers[i].Create.Purpose == "run" {
			return m.Containers[i]
		}
	}
	return nil
}

// Result is the build's final image ("" when it failed).
func (b *BuildModel) Result() string {
	if b.End != nil {
		return b.End.Image
	}
	return ""
}

// Failed says the build ended with an error.
func (b *BuildModel) Failed() bool { return b.End != nil && b.End.Error != "" }

// ParentOf is the image a step started from: the previous step's image.
func (b *BuildModel) ParentOf(s *StepModel) string {
	if s.Probe != nil {
		return s.Probe.Parent
	}
	for _, c := range s.Containers {
		return c.Create.Image
	}
	if prev := b.step(s.Info.Number - 1); prev != nil {
		return prev.ResultImage()
	}
	return ""
}

// LayerCount is the number of layers of an image, when the trace knows it.
func (m *Model) LayerCount(id string) (int, bool) {
	if img, ok := m.Images[id]; ok {
		return img.Layers, true
	}
	return 0, false
}

func shortID(id string) string { return trace.ShortID(id) }
