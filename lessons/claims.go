package lessons

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/berthkit/berth/trace/view"
)

// Claim is an `expect` directive: something the notes say that the lesson
// checks on the trace of what really happened.
//
//	expect step 2 cached           expect steps 3,4 ran       expect step 2-4 cached
//	expect step 3 container never-started                      expect step 2 forwarded
//	expect step 3 layer empty      expect result step 3        expect build failed
//	expect image cmd ["redis-server"]                          expect snapshot adds redis-server
//	expect run exit 0              expect run image {{image}}  expect tag rommelrico/redis:latest
//	expect run output PONG
type Claim struct {
	Subject string // step, build, image, snapshot, run, tag, result
	Steps   []int
	What    string // cached, ran, failed, container, forwarded, layer, cmd, adds, exit, image, ...
	Value   string
	Text    string // as written
}

func parseClaim(args []string) (*Claim, error) {
	c := &Claim{Text: strings.Join(args, " ")}
	if len(args) < 2 {
		return nil, c.unreadable()
	}
	c.Subject = args[0]
	var err error
	switch c.Subject {
	case "step", "steps":
		err = c.parseStep(args)
	case "build":
		if len(args) != 2 || (args[1] != "failed" && args[1] != "succeeded") {
			return nil, errors.New("write `expect build failed|succeeded`")
		}
		c.What = args[1]
	case "result":
		err = c.parseResult(args)
	case "image":
		err = c.parseImage(args)
	case "snapshot":
		if len(args) != 3 || args[1] != "adds" {
			return nil, errors.New("write `expect snapshot adds PATH-OR-NAME`")
		}
		c.What, c.Value = "adds", args[2]
	case "run":
		err = c.parseRun(args)
	case "tag":
		if len(args) != 2 {
			return nil, errors.New("write `expect tag NAME:TAG`")
		}
		c.What, c.Value = "tag", args[1]
	default:
		return nil, c.unreadable()
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// unreadable is the error for a claim that matches no form.
func (c *Claim) unreadable() error {
	return fmt.Errorf("cannot read `expect %s` (see docs/lessons.md for the claims lessons check)", c.Text)
}

// parseStep reads `expect step(s) N… WHAT [VALUE]`.
func (c *Claim) parseStep(args []string) error {
	c.Subject = "step"
	steps, err := parseSteps(args[1])
	if err != nil {
		return err
	}
	c.Steps = steps
	rest := args[2:]
	if len(rest) == 0 {
		return c.unreadable()
	}
	c.What = rest[0]
	switch c.What {
	case "cached", "ran", "failed", "forwarded":
		if len(rest) != 1 {
			return c.unreadable()
		}
		return nil
	case "container":
		return c.stepValue(rest, "started", "never-started")
	case "layer":
		return c.stepValue(rest, "empty", "added")
	}
	return c.unreadable()
}

// stepValue reads the one value a step claim takes, which is a or b.
func (c *Claim) stepValue(rest []string, a, b string) error {
	if len(rest) != 2 || (rest[1] != a && rest[1] != b) {
		return fmt.Errorf("write `expect step N %s %s|%s`", c.What, a, b)
	}
	c.Value = rest[1]
	return nil
}

// parseResult reads `expect result step N`.
func (c *Claim) parseResult(args []string) error {
	usage := errors.New("write `expect result step N`")
	if len(args) != 3 || args[1] != "step" {
		return usage
	}
	steps, err := parseSteps(args[2])
	if err != nil || len(steps) != 1 {
		return usage
	}
	c.Steps, c.What = steps, "step"
	return nil
}

// parseImage reads `expect image cmd JSON`.
func (c *Claim) parseImage(args []string) error {
	if len(args) < 3 || args[1] != "cmd" {
		return errors.New(`write expect image cmd ["redis-server"]`)
	}
	c.What, c.Value = "cmd", strings.Join(args[2:], " ")
	var cmd []string
	if !strings.Contains(c.Value, "{{") {
		if err := json.Unmarshal([]byte(c.Value), &cmd); err != nil {
			return fmt.Errorf("expect image cmd: %s is not a JSON array of strings", c.Value)
		}
	}
	return nil
}

// parseRun reads `expect run exit N|image IMAGE|output LINE`.
func (c *Claim) parseRun(args []string) error {
	if len(args) < 3 || (args[1] != "output" && len(args) != 3) || (args[1] != "exit" && args[1] != "image" && args[1] != "output") {
		return errors.New("write `expect run exit N`, `expect run image IMAGE` or `expect run output LINE`")
	}
	c.What, c.Value = args[1], strings.Join(args[2:], " ")
	if c.What == "exit" {
		if _, err := strconv.Atoi(c.Value); err != nil {
			return fmt.Errorf("expect run exit %q: give a number", c.Value)
		}
	}
	return nil
}

// parseSteps reads "2", "3,4" or "2-4".
func parseSteps(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 1 {
			return nil, fmt.Errorf("%q is not a step number", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a step range", part)
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out, nil
}

// ClaimResult is the outcome of checking one claim.
type ClaimResult struct {
	Claim *Claim
	OK    bool
	// Says is what was found, in plain words.
	Says string
}

// Check tests the claim on the model. value is the claim's Value with
// placeholders expanded.
func (c *Claim) Check(m *view.Model, value string) []ClaimResult {
	b := m.LastBuild()
	needBuild := c.Subject == "step" || c.Subject == "build" || c.Subject == "result" || c.Subject == "tag"
	if needBuild && b == nil {
		return c.result(sayf(false, "there is no build in the trace to check"))
	}
	switch c.Subject {
	case "step":
		var out []ClaimResult
		for _, n := range c.Steps {
			out = append(out, c.result(c.checkStep(b, n))...)
		}
		return out
	case "build":
		return c.result(c.checkBuild(b))
	case "result":
		return c.result(c.checkResult(b))
	case "image":
		return c.result(checkImage(m, value))
	case "snapshot":
		return c.result(checkSnapshot(m, value))
	case "run":
		return c.result(c.checkRun(m, value))
	case "tag":
		return c.result(checkTag(b, value))
	}
	return c.result(sayf(false, "unknown claim"))
}

// result is one verdict on the claim.
func (c *Claim) result(ok bool, says string) []ClaimResult {
	return []ClaimResult{{Claim: c, OK: ok, Says: says}}
}

func (c *Claim) checkBuild(b *view.BuildModel) (bool, string) {
	if b.End == nil {
		return sayf(false, "build %d did not finish", b.Index)
	}
	if c.What == "failed" {
		if b.Failed() {
			return sayf(true, "the build failed, as expected: %s", firstLine(b.End.Error))
		}
		return sayf(false, "the build was expected to fail, but it succeeded with image %s", shortID(b.Result()))
	}
	if b.Failed() {
		return sayf(false, "the build was expected to succeed, but it failed: %s", firstLine(b.End.Error))
	}
	return sayf(true, "the build succeeded: image %s", shortID(b.Result()))
}

func (c *Claim) checkResult(b *view.BuildModel) (bool, string) {
	s := b.Step(c.Steps[0])
	if s == nil {
		return sayf(false, "build %d has no step %d", b.Index, c.Steps[0])
	}
	if b.Result() != "" && b.Result() == s.ResultImage() {
		return sayf(true, "the build's result is step %d's image %s: the last image is the end result", s.Number(), shortID(b.Result()))
	}
	return sayf(false, "the build's result %s is not step %d's image %s", orNone(shortID(b.Result())), s.Number(), orNone(shortID(s.ResultImage())))
}

func checkImage(m *view.Model, value string) (bool, string) {
	img := lastImage(m)
	if img == nil {
		return sayf(false, "no image was saved in this part of the trace")
	}
	if !img.Known {
		return sayf(false, "image %s came from the cache: this trace does not show its config", shortID(img.ID))
	}
	got, _ := json.Marshal(img.Cmd)
	var want []string
	if err := json.Unmarshal([]byte(value), &want); err != nil {
		return sayf(false, "expect image cmd: %s is not a JSON array of strings", value)
	}
	wantJSON, _ := json.Marshal(want)
	if string(got) == string(wantJSON) {
		return sayf(true, "image %s has CMD %s", shortID(img.ID), got)
	}
	return sayf(false, "image %s has CMD %s, not %s", shortID(img.ID), got, wantJSON)
}

func checkSnapshot(m *view.Model, value string) (bool, string) {
	snap := lastSnapshot(m)
	if snap == nil {
		return sayf(false, "no snapshot was taken")
	}
	for _, p := range snap.Paths {
		op, file, _ := strings.Cut(p, " ")
		if op == "A" && (file == value || path.Base(file) == value) {
			return sayf(true, "the snapshot of container %s added %s", shortID(snap.Container), file)
		}
	}
	return sayf(false, "the snapshot of container %s did not add %s (it lists %d paths)", shortID(snap.Container), value, len(snap.Paths))
}

func checkTag(b *view.BuildModel, value string) (bool, string) {
	var refs []string
	for _, t := range b.Tags {
		if t.Ref != value {
			refs = append(refs, t.Ref)
			continue
		}
		if t.Image == b.Result() {
			return sayf(true, "%s names image %s, the build's result", t.Ref, shortID(t.Image))
		}
		return sayf(false, "%s names image %s, not the build's result %s", t.Ref, shortID(t.Image), shortID(b.Result()))
	}
	return sayf(false, "build %d did not tag %s (tags: %s)", b.Index, value, orNone(strings.Join(refs, ", ")))
}

// checkStep checks the claim on step n of build b.
func (c *Claim) checkStep(b *view.BuildModel, n int) (bool, string) {
	s := b.Step(n)
	if s == nil {
		return sayf(false, "build %d has no step %d", b.Index, n)
	}
	switch c.What {
	case "cached":
		return checkCached(s, n)
	case "ran":
		return checkRan(s, n)
	case "failed":
		if s.Failed() {
			return sayf(true, "step %d failed: %s", n, firstLine(s.End.Error))
		}
		return sayf(false, "step %d was expected to fail, but it did not", n)
	case "container":
		return c.checkContainer(s, n)
	case "layer":
		return c.checkLayer(s, n)
	case "forwarded":
		return checkForwarded(b, s, n)
	}
	return sayf(false, "unknown claim")
}

// missWhy is the cache-miss reason of a step, "" if it was not probed.
func missWhy(s *view.StepModel) string {
	if s.Probe != nil {
		return "cache miss: " + s.Probe.Reason
	}
	return ""
}

func checkCached(s *view.StepModel, n int) (bool, string) {
	if s.Cached() {
		return sayf(true, "step %d came from the cache (image %s)", n, shortID(s.ResultImage()))
	}
	if s.Failed() {
		return sayf(false, "step %d was expected to come from the cache, but it failed: %s", n, firstLine(s.End.Error))
	}
	explanation := ""
	if s.Probe != nil {
		explanation = ": " + s.Probe.Explanation
	}
	return sayf(false, "step %d was expected to come from the cache, but it ran (%s)%s", n, orNone(missWhy(s)), explanation)
}

func checkRan(s *view.StepModel, n int) (bool, string) {
	if s.Ran() {
		return sayf(true, "step %d ran (%s)", n, orNone(missWhy(s)))
	}
	if s.Cached() {
		return sayf(false, "step %d was expected to run, but it came from the cache (image %s)", n, shortID(s.ResultImage()))
	}
	return sayf(false, "step %d was expected to run, but it did not finish", n)
}

func (c *Claim) checkContainer(s *view.StepModel, n int) (bool, string) {
	var bc *view.ContainerModel
	for _, ct := range s.Containers {
		bc = ct
	}
	if bc == nil {
		return sayf(false, "step %d created no container", n)
	}
	started := bc.Start != nil
	if started == (c.Value == "started") {
		if started {
			return sayf(true, "step %d's container %s was started", n, shortID(bc.ID()))
		}
		return sayf(true, "step %d's container %s was created but never started", n, shortID(bc.ID()))
	}
	if started {
		return sayf(false, "step %d's container %s was started, but the notes say it only holds the configuration", n, shortID(bc.ID()))
	}
	return sayf(false, "step %d's container %s never started", n, shortID(bc.ID()))
}

func (c *Claim) checkLayer(s *view.StepModel, n int) (bool, string) {
	if s.Layer == nil {
		return sayf(false, "step %d stored no layer record", n)
	}
	if s.Layer.Empty == (c.Value == "empty") {
		if s.Layer.Empty {
			return sayf(true, "step %d changed no files: no layer, only a new config", n)
		}
		return sayf(true, "step %d added a layer of %s", n, humanSize(s.Layer.Size))
	}
	if s.Layer.Empty {
		return sayf(false, "step %d was expected to add a layer, but it changed no files", n)
	}
	return sayf(false, "step %d was expected to add no layer, but it added %s", n, humanSize(s.Layer.Size))
}

func checkForwarded(b *view.BuildModel, s *view.StepModel, n int) (bool, string) {
	next := b.Step(n + 1)
	img := s.ResultImage()
	if next == nil {
		return sayf(false, "build %d has no step %d to forward to", b.Index, n+1)
	}
	if img == "" {
		return sayf(false, "step %d produced no image", n)
	}
	parent := b.ParentOf(next)
	if parent == img {
		return sayf(true, "step %d's image %s is what step %d started from", n, shortID(img), n+1)
	}
	return sayf(false, "step %d's image is %s, but step %d started from %s", n, shortID(img), n+1, orNone(shortID(parent)))
}

// lastImage is the image of the latest build result or commit.
func lastImage(m *view.Model) *InfoRef {
	for i := len(m.Events) - 1; i >= 0; i-- {
		e := m.Events[i]
		switch {
		case e.Type == "build.end" && e.BuildEndInfo != nil && e.BuildEndInfo.Image != "":
			if img, ok := m.Images[e.BuildEndInfo.Image]; ok {
				return &InfoRef{ID: img.ID, Cmd: img.Cmd, Known: true}
			}
			return &InfoRef{ID: e.BuildEndInfo.Image}
		case e.Type == "image" && e.Image != nil && e.Build == "":
			return &InfoRef{ID: e.Image.ID, Cmd: e.Image.Cmd, Known: true}
		}
	}
	return nil
}

// InfoRef is an image ID with its CMD.
type InfoRef struct {
	ID    string
	Cmd   []string
	Known bool // the trace saw the image saved (not only reused from the cache)
}

// lastImageID is the image the latest build or commit produced ("" if none).
func lastImageID(m *view.Model) string {
	if img := lastImage(m); img != nil {
		return img.ID
	}
	return ""
}

func lastSnapshot(m *view.Model) *SnapshotRef {
	for i := len(m.Events) - 1; i >= 0; i-- {
		if e := m.Events[i]; e.Type == "snapshot" && e.Snapshot != nil {
			return &SnapshotRef{Container: e.Snapshot.Container, Paths: e.Snapshot.Paths}
		}
	}
	return nil
}

// SnapshotRef is the part of a snapshot claims look at.
type SnapshotRef struct {
	Container string
	Paths     []string
}

// runOutput checks that a line of the container's recorded output is want.
func runOutput(r *view.ContainerModel, want string) (bool, string) {
	text := strings.Join(r.Output, "")
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRight(line, "\r") == want {
			return true, fmt.Sprintf("container %s printed %s", shortID(r.ID()), want)
		}
	}
	last := strings.TrimSpace(text)
	if last == "" {
		last = "nothing"
	}
	return false, fmt.Sprintf("container %s printed %q, not %s", shortID(r.ID()), firstLine(last), want)
}

// checkRun checks a claim about the latest run.
func (c *Claim) checkRun(m *view.Model, value string) (bool, string) {
	r := m.LastRun()
	if r == nil {
		return sayf(false, "no container was run")
	}
	if c.What == "output" {
		return runOutput(r, value)
	}
	if c.What == "image" {
		if r.Create.Image == value || shortID(r.Create.Image) == shortID(value) {
			return sayf(true, "container %s ran image %s", shortID(r.ID()), shortID(r.Create.Image))
		}
		return sayf(false, "container %s ran image %s, not %s", shortID(r.ID()), shortID(r.Create.Image), shortID(value))
	}
	if r.Exit == nil || r.Exit.ExitCode == nil {
		return sayf(false, "container %s has no recorded exit", shortID(r.ID()))
	}
	want, _ := strconv.Atoi(value)
	if *r.Exit.ExitCode == want {
		return sayf(true, "container %s exited with code %d", shortID(r.ID()), want)
	}
	return sayf(false, "container %s exited with code %d, not %d", shortID(r.ID()), *r.Exit.ExitCode, want)
}

// sayf is a claim's verdict with what was found.
func sayf(ok bool, format string, args ...any) (bool, string) {
	return ok, fmt.Sprintf(format, args...)
}
