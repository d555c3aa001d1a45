package lessons

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
)

// replayBackend stands in for the engine in live-mode tests: each action
// emits, through a Stamper like the engine's, the events the real engine
// recorded for that action. It also records what it was asked to do.
type replayBackend struct {
	mu       sync.Mutex
	segments [][]trace.Event
	next     int
	recs     map[int]trace.Recorder
	n        int
	stamp    *trace.Stamper
	calls    []string
	files    []string // Dockerfile contents at each build
}

func newReplayBackend(t *testing.T, lesson string) *replayBackend {
	t.Helper()
	events, err := Recording(lesson)
	if err != nil {
		t.Fatal(err)
	}
	var segs [][]trace.Event
	for _, e := range events {
		if view.IsMarker(e) {
			if strings.Contains(e.Message.Text, " action ") {
				segs = append(segs, nil)
			}
			continue
		}
		if len(segs) > 0 {
			e.Seq, e.Version = 0, 0 // restamped on the way out
			segs[len(segs)-1] = append(segs[len(segs)-1], e)
		}
	}
	b := &replayBackend{segments: segs, recs: map[int]trace.Recorder{}}
	b.stamp = trace.NewStamper(trace.RecorderFunc(func(e trace.Event) {
		b.mu.Lock()
		var rs []trace.Recorder
		for i := 0; i < b.n; i++ {
			if r, ok := b.recs[i]; ok {
				rs = append(rs, r)
			}
		}
		b.mu.Unlock()
		for _, r := range rs {
			r.Record(e)
		}
	}))
	return b
}

func (b *replayBackend) AddRecorder(r trace.Recorder) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.n
	b.n++
	b.recs[id] = r
	return func() { b.mu.Lock(); delete(b.recs, id); b.mu.Unlock() }
}

func (b *replayBackend) Note(text string) {
	b.stamp.Record(trace.Event{Type: trace.Message, Message: &trace.MessageInfo{Level: "info", Text: text}})
}

func (b *replayBackend) emitNext(call string) error {
	b.calls = append(b.calls, call)
	if b.next >= len(b.segments) {
		return errors.New("the fake engine has no more recorded actions")
	}
	for _, e := range b.segments[b.next] {
		b.stamp.Record(e)
	}
	b.next++
	return nil
}

func (b *replayBackend) Build(ctx context.Context, ws string, spec BuildSpec) error {
	data, err := os.ReadFile(filepath.Join(ws, spec.Context, "Dockerfile"))
	if err != nil {
		return err
	}
	b.files = append(b.files, string(data))
	return b.emitNext("build " + strings.Join(spec.Tags, ","))
}
func (b *replayBackend) Run(ctx context.Context, spec RunSpec) error {
	return b.emitNext("run " + spec.Image)
}
func (b *replayBackend) Commit(ctx context.Context, spec CommitSpec) error {
	return b.emitNext("commit " + spec.Container)
}
func (b *replayBackend) Remove(ctx context.Context, spec RmSpec) error {
	return b.emitNext("rm " + strings.Join(spec.Containers, ","))
}
func (b *replayBackend) Network(ctx context.Context, spec NetworkSpec) error {
	return b.emitNext("network " + spec.Op + " " + spec.Name)
}
func (b *replayBackend) Version() string { return "berth test" }

func TestLiveModeRunsRecordsAndReplays(t *testing.T) {
	l, err := Get("build-cache")
	if err != nil {
		t.Fatal(err)
	}
	be := newReplayBackend(t, "build-cache")
	ws := t.TempDir()
	var out, rec bytes.Buffer
	rep, err := Run(context.Background(), l, Options{Mode: Live, Base: "debian", Backend: be, Workspace: ws, Out: &out, Record: &rec})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.Failed() != 0 || len(rep.Claims) != 11 {
		t.Errorf("%d claims, %d failed", len(rep.Claims), rep.Failed())
	}
	if len(be.calls) != 4 || be.calls[0] != "build " {
		t.Errorf("engine calls %q", be.calls)
	}
	// The lesson wrote and edited its Dockerfile in the workspace before each build.
	if len(be.files) != 4 || strings.Count(be.files[0], "\n") != 3 || strings.Count(be.files[1], "\n") != 4 {
		t.Fatalf("Dockerfiles built: %q", be.files)
	}
	final, _ := os.ReadFile(filepath.Join(ws, "Dockerfile"))
	lines := strings.Split(strings.TrimSpace(string(final)), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "install -y gcc") || !strings.Contains(lines[2], "install -y redis-server") {
		t.Errorf("final Dockerfile:\n%s", final)
	}
	if !strings.Contains(out.String(), "LIVE: real builds on this machine with berth test") {
		t.Errorf("banner:\n%s", out.String())
	}
	// What live mode recorded replays with the same verdicts.
	events, err := trace.Read(&rec)
	if err != nil {
		t.Fatal(err)
	}
	if name, base, engine, _, err := view.ReadHeader(events); err != nil || name != "build-cache" || base != "debian" || engine != "berth test" {
		t.Fatalf("header %q %q %q %v", name, base, engine, err)
	}
	var replayOut bytes.Buffer
	rep2, err := Run(context.Background(), l, Options{Mode: Replay, Recording: events, RecordingName: "rec", Out: &replayOut})
	if err != nil || rep2.Failed() != 0 || len(rep2.Claims) != len(rep.Claims) {
		t.Fatalf("replaying the new recording: %v, %d claims", err, len(rep2.Claims))
	}
	// Narration is the same live and replayed, apart from the banner.
	body := func(s string) string {
		return s[strings.Index(s, "Every step of a build"):strings.Index(s, "End of lesson")]
	}
	if body(out.String()) != body(replayOut.String()) {
		t.Error("live and replayed narration differ")
	}
}

// A claim the trace contradicts is printed plainly and fails the lesson.
func TestEngineDisagreementFails(t *testing.T) {
	src, err := Source("build-cache")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "<!-- berth: expect step 2 cached -->", "<!-- berth: expect step 3 cached -->", 1)
	l, err := Parse("custom.md", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	events, _ := Recording("build-cache")
	var out bytes.Buffer
	rep, err := Run(context.Background(), l, Options{Mode: Replay, Recording: events, RecordingName: "rec", Out: &out})
	if !errors.Is(err, ErrClaimsFailed) {
		t.Fatalf("err = %v", err)
	}
	if rep.Failed() != 1 {
		t.Errorf("%d failed", rep.Failed())
	}
	for _, want := range []string{
		"✗ the engine disagrees with the lesson: step 3 was expected to come from the cache, but it ran (cache miss: instruction-changed)",
		"1 of 11 checks failed on the recorded trace",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReplayRefusesARecordingThatDoesNotMatch(t *testing.T) {
	src, _ := Source("build-cache")
	events, _ := Recording("build-cache")
	for _, tc := range []struct{ from, to, want string }{
		{"<!-- berth: build . -->", "<!-- berth: build --no-cache . -->", "action 1 was recorded as `build .`, but the lesson says `build --no-cache .`"},
		{"CMD [\"redis-server\"]", "CMD [\"redis-server\", \"--port\", \"7000\"]", "built step 3 as \"CMD [\\\"redis-server\\\"]\""},
		{"<!-- berth: build . -->", "<!-- berth: build . -->\n<!-- berth: build . -->", "has 4 recorded actions, but lesson build-cache (base debian) has 5"},
		{"name: build-cache", "name: other", "is a recording of lesson \"build-cache\", not \"other\""},
	} {
		l, err := Parse("custom.md", []byte(strings.Replace(string(src), tc.from, tc.to, 1)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(context.Background(), l, Options{Mode: Replay, Recording: events, RecordingName: "rec", Out: &bytes.Buffer{}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: err = %v, want %q", tc.from, tc.to, err, tc.want)
		}
	}
	if _, err := Run(context.Background(), &Lesson{Name: "x"}, Options{Mode: Replay, Recording: []trace.Event{{Type: trace.BuildStart}}}); err == nil || !strings.Contains(err.Error(), "not a lesson recording") {
		t.Errorf("a plain trace: %v", err)
	}
}

// Pauses happen before each action and after each annotation; an
// annotation of a live build is printed while the engine waits.
func TestPausesAtAnnotations(t *testing.T) {
	l, _ := Get("build-cache")
	events, _ := Recording("build-cache")
	var out bytes.Buffer
	pauses := 0
	_, err := Run(context.Background(), l, Options{Mode: Replay, Recording: events, Out: &out, Pause: func(context.Context) {
		pauses++
		out.WriteString("<PAUSE>\n")
	}})
	if err != nil {
		t.Fatal(err)
	}
	notes := 0
	for _, b := range l.For("debian", "") {
		if b.Kind == Annotation {
			notes++
		}
	}
	if want := notes + len(l.EngineActions("debian", "")); pauses != want {
		t.Errorf("%d pauses, want %d", pauses, want)
	}
	if !strings.Contains(out.String(), "the engine reuses the image instead of installing Redis again.\n<PAUSE>\n") {
		t.Error("no pause right after the cache-hit annotation")
	}
}

// The command shown for a run is one berth has: the lesson's --stop-after
// is said apart.
func TestDisplayArgsDropsStopAfter(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
		stop string
	}{
		{[]string{"--rm", "--stop-after", "5s", "img"}, "--rm img", "5s"},
		{[]string{"--name", "box", "--stop-after=3s", "img", "sh", "-c", "--stop-after 1s"}, "--name box img sh -c --stop-after 1s", "3s"},
		{[]string{"img"}, "img", ""},
	} {
		got, own := displayArgs("run", c.in)
		if strings.Join(got, " ") != c.want || own.StopAfter != c.stop {
			t.Errorf("displayArgs(%q) = %q, %q", c.in, got, own.StopAfter)
		}
	}
	if got, _ := displayArgs("build", []string{"--stop-after", "x"}); len(got) != 2 {
		t.Errorf("a build's args are shown as they are: %q", got)
	}
}

// A live lesson's pauses hold the engine, so the durations it shows leave
// them out, and say how long was paused: the two add up to the trace's.
func TestLiveDurationsLeaveOutPauses(t *testing.T) {
	var fake time.Time
	clock = func() time.Time { return fake }
	t.Cleanup(func() { clock = time.Now })
	l, _ := Get("build-cache")
	be := newReplayBackend(t, "build-cache")
	var out bytes.Buffer
	_, err := Run(context.Background(), l, Options{Mode: Live, Base: "debian", Backend: be, Workspace: t.TempDir(), Out: &out,
		Pause: func(context.Context) { fake = fake.Add(time.Millisecond) }})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var recorded []int64
	for _, seg := range be.segments {
		for _, e := range seg {
			if e.Type == trace.BuildEnd {
				recorded = append(recorded, e.BuildEndInfo.DurationMS)
			}
		}
	}
	re := regexp.MustCompile(`build (\d) finished in (\S+) \(not counting (\S+) paused by the lesson\)`)
	ms := func(s string) int64 {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("duration %q: %v", s, err)
		}
		return d.Milliseconds()
	}
	found := re.FindAllStringSubmatch(out.String(), -1)
	if len(found) == 0 {
		t.Fatalf("no build duration leaves out the pauses:\n%s", out.String())
	}
	for _, m := range found {
		i, _ := strconv.Atoi(m[1])
		shown, paused := ms(m[2]), ms(m[3])
		// Shown rounded (one decimal from a second on, whole seconds from a
		// minute on): within half the last digit.
		tol := int64(50)
		if recorded[i-1] >= 60000 {
			tol = 500
		}
		if diff := shown + paused - recorded[i-1]; paused == 0 || diff > tol || diff < -tol {
			t.Errorf("build %s: shown %dms + paused %dms, the trace says %dms", m[1], shown, paused, recorded[i-1])
		}
	}
}
