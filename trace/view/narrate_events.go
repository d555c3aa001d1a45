package view

import (
	"encoding/json"
	"fmt"

	"github.com/berthkit/berth/trace"
)

// narrateFunc prints the plain-words line(s) for one event; b is the build
// the event belongs to (nil outside a build).
type narrateFunc func(n *Narrator, e trace.Event, b *BuildModel)

// narrators holds one small function per event type that gets a plain-words
// line; the other types get none.
var narrators = map[trace.Type]narrateFunc{
	trace.BuildStart:      (*Narrator).narrateBuildStart,
	trace.PullStart:       (*Narrator).narratePullStart,
	trace.PullEnd:         (*Narrator).narratePullEnd,
	trace.CacheProbe:      (*Narrator).narrateCacheProbe,
	trace.ContainerCreate: (*Narrator).narrateContainerCreate,
	trace.ContainerStart:  (*Narrator).narrateContainerStart,
	trace.ContainerExit:   (*Narrator).narrateContainerExit,
	trace.ContainerPause:  (*Narrator).narrateContainerPause,
	trace.ContainerResume: (*Narrator).narrateContainerResume,
	trace.ContainerRemove: (*Narrator).narrateContainerRemove,
	trace.Snapshot:        (*Narrator).narrateSnapshot,
	trace.Layer:           (*Narrator).narrateLayer,
	trace.Image:           (*Narrator).narrateImage,
	trace.StepEnd:         (*Narrator).narrateStepEnd,
	trace.Tag:             (*Narrator).narrateTag,
	trace.ClientRequest:   (*Narrator).narrateClient,
	trace.ClientUpload:    (*Narrator).narrateClient,
	trace.ClientResponse:  (*Narrator).narrateClient,
	trace.BuildEnd:        (*Narrator).narrateBuildEnd,
}

// narrate prints the plain-words line for e, if its type has one.
func (n *Narrator) narrate(e trace.Event) {
	if f := narrators[e.Type]; f != nil {
		f(n, e, n.model.Build(e.Build))
	}
}

func (n *Narrator) narrateBuildStart(e trace.Event, _ *BuildModel) {
	n.markPauses("build")
	i := e.BuildStartInfo
	if i == nil {
		return
	}
	n.line("build %d: the berth CLI (the client) hands the engine (the server) the Dockerfile and the build context (%s, %s); %s, one per instruction",
		len(n.model.Builds), plural(i.ContextFiles, "file"), humanSize(i.ContextBytes), plural(i.Steps, "step"))
}

func (n *Narrator) narratePullStart(e trace.Event, _ *BuildModel) {
	if e.Pull != nil {
		n.line("%s is not in the store: fetching it from its registry", e.Pull.Ref)
	}
}

func (n *Narrator) narratePullEnd(e trace.Event, _ *BuildModel) {
	p := e.Pull
	switch {
	case p == nil:
	case p.Error != "":
		n.line("pulling %s failed: %s", p.Ref, p.Error)
	case p.UpToDate:
		n.line("%s was already up to date", p.Ref)
	default:
		n.line("pulled %s (image %s, %s fetched)", p.Ref, shortID(p.Image), humanSize(p.Bytes))
	}
}

func (n *Narrator) narrateCacheProbe(e trace.Event, _ *BuildModel) {
	c := e.Cache
	if c == nil {
		return
	}
	if c.Hit {
		n.line("cache hit: %s", c.Explanation)
	} else {
		n.line("cache miss (%s): %s", c.Reason, c.Explanation)
	}
	n.detail("cache key: parent %s + %s", orNone(shortID(c.Parent)), clip(c.Key, 90))
}

func (n *Narrator) narrateContainerCreate(e trace.Event, b *BuildModel) {
	c := e.Container
	if c == nil {
		return
	}
	from := n.imageOrigin(b, e.Step, c.Image)
	image := shortID(c.Image)
	if c.Image == "" {
		image, from = "scratch", " (an empty filesystem)"
	}
	switch c.Purpose {
	case "build":
		if n.willStart(b, e.Step, c) {
			n.line("intermediate container %s created from image %s%s", shortID(c.ID), image, from)
		} else {
			n.line("intermediate container %s created from image %s%s; it will never start: this step only changes the image's configuration", shortID(c.ID), image, from)
		}
	case "copy":
		n.line("container %s created from image %s%s and mounted; files are copied in without starting it", shortID(c.ID), image, from)
	default:
		name := ""
		if c.Name != "" {
			name = fmt.Sprintf(" (name %s)", c.Name)
		}
		n.line("container %s%s created from image %s%s, to run %s", shortID(c.ID), name, image, from, clip(cmdString(c.Cmd), 80))
		for _, l := range plumbingLines(c) {
			n.detail("%s", l)
		}
	}
}

func (n *Narrator) narrateContainerStart(e trace.Event, _ *BuildModel) {
	c := e.Container
	if c == nil {
		return
	}
	n.markPauses(c.ID)
	cmd := c.Cmd
	if len(cmd) == 0 {
		if ct := n.model.Container(c.ID); ct != nil {
			cmd = ct.Create.Cmd
		}
	}
	pid := ""
	if c.Pid > 0 {
		pid = fmt.Sprintf(" as process %d", c.Pid)
	}
	n.line("container %s started: %s runs inside it%s", shortID(c.ID), clip(cmdString(cmd), 80), pid)
	n.detailIf(reachable(c))
}

func (n *Narrator) narrateContainerExit(e trace.Event, _ *BuildModel) {
	c := e.Container
	if c == nil {
		return
	}
	code := 0
	if c.ExitCode != nil {
		code = *c.ExitCode
	}
	n.line("the process exited with code %d after %s; container %s is stopped", code, n.took(c.ID, c.DurationMS), shortID(c.ID))
}

func (n *Narrator) narrateContainerPause(e trace.Event, _ *BuildModel) {
	if c := e.Container; c != nil {
		n.line("container %s is paused (frozen) so its files hold still while the snapshot is taken", shortID(c.ID))
	}
}

func (n *Narrator) narrateContainerResume(e trace.Event, _ *BuildModel) {
	if c := e.Container; c != nil {
		n.line("container %s goes on running", shortID(c.ID))
	}
}

func (n *Narrator) narrateContainerRemove(e trace.Event, b *BuildModel) {
	c := e.Container
	if c == nil {
		return
	}
	if c.Purpose != "build" && c.Purpose != "copy" {
		n.line("container %s removed", shortID(c.ID))
		return
	}
	img := ""
	if st := n.step(b, e.Step); st != nil && st.Image != nil {
		img = fmt.Sprintf("; what it did lives on in image %s", shortID(st.Image.ID))
	}
	n.line("intermediate container %s removed%s", shortID(c.ID), img)
}

func (n *Narrator) narrateSnapshot(e trace.Event, _ *BuildModel) {
	s := e.Snapshot
	if s == nil {
		return
	}
	who := "filesystem snapshot"
	if e.Build == "" {
		who = "commit: filesystem snapshot"
	}
	n.line("%s of container %s: %d added, %d changed, %d deleted, %s of file content",
		who, shortID(s.Container), s.Added, s.Changed, s.Deleted, humanSize(s.Bytes))
	n.paths(s)
}

func (n *Narrator) narrateLayer(e trace.Event, _ *BuildModel) {
	l := e.Layer
	switch {
	case l == nil:
	case l.Empty:
		n.line("no files changed, so no new layer: the new image differs only in its configuration")
	default:
		n.line("layer stored: %s compressed (%s as a tar), digest %s", humanSize(l.Size), humanSize(l.UncompressedSize), shortDigest(l.Digest))
	}
}

func (n *Narrator) narrateImage(e trace.Event, _ *BuildModel) {
	i := e.Image
	if i == nil {
		return
	}
	cmd := ""
	if len(i.Cmd) > 0 {
		j, _ := json.Marshal(i.Cmd)
		cmd = ", CMD " + string(j)
	}
	if e.Build == "" {
		n.line("image %s saved from the container's snapshot: parent %s, %d layers%s", shortID(i.ID), orNone(shortID(i.Parent)), i.Layers, cmd)
	} else {
		n.line("new image %s saved: parent %s, %d layers%s", shortID(i.ID), orNone(shortID(i.Parent)), i.Layers, cmd)
	}
}

func (n *Narrator) narrateStepEnd(e trace.Event, b *BuildModel) {
	st := n.step(b, e.Step)
	end := e.StepEndInfo
	if st == nil || end == nil {
		return
	}
	num, total := st.Info.Number, st.Info.Total
	switch {
	case end.Error != "":
		n.line("step %d failed: %s", num, firstLine(end.Error))
	case st.Info.Instruction == "FROM" && end.Image == "":
		n.line("step %d: scratch, the empty image, is the base", num)
	case st.Info.Instruction == "FROM":
		n.line("step %d's result is the base image %s%s", num, shortID(end.Image), forward(num, total))
	case end.Cached:
		n.line("step %d's image %s comes from the cache (nothing ran)%s", num, shortID(end.Image), forward(num, total))
	default:
		n.line("step %d's image is %s%s", num, shortID(end.Image), forward(num, total))
	}
}

func (n *Narrator) narrateTag(e trace.Event, _ *BuildModel) {
	if t := e.Tag; t != nil {
		n.line("the name %s now points at image %s", t.Ref, shortID(t.Image))
	}
}

func (n *Narrator) narrateClient(e trace.Event, _ *BuildModel) {
	n.lineIf(clientLine(e.Type, e.Client))
}

func (n *Narrator) narrateBuildEnd(e trace.Event, b *BuildModel) {
	i := e.BuildEndInfo
	if i == nil {
		return
	}
	idx := len(n.model.Builds)
	if b != nil {
		idx = b.Index
	}
	if i.Error != "" {
		n.line("build %d failed after %s: %s", idx, n.took("build", i.DurationMS), firstLine(i.Error))
		return
	}
	n.line("build %d finished in %s: %d steps ran, %d came from the cache; the result is image %s", idx, n.took("build", i.DurationMS), i.Ran, i.Cached, shortID(i.Image))
}
