package trace

// Benchmarks of trace encoding: every event of every build goes through the
// JSON-lines writer when --trace is given, and through the console renderer
// always; lessons and `berth trace` read traces back.
//
//	go test -run '^$' -bench . -benchmem ./trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"
)

// benchBuild is the events of the notes' redis build with a cold cache, in
// the shape the engine emits them: a 3-step build whose RUN step prints
// output lines, takes a snapshot and commits a layer, plus the events of a
// metadata step. stepsAfterFrom repeats the RUN step's events.
func benchBuild(stepsAfterFrom, outputLines int) []Event {
	const (
		build  = "4c3bd6f3a1f44e0c8c2ed7a9b1f0a5d6"
		parent = "sha256:3f53bb00af943e4bd36d2f5e1c47ad7b8f4e54ab3cda7b3ef3b9b8f25d45b1a6"
		image  = "sha256:94de9090842b8bd3b1d1c23e5f8e1a6ef9a2f8fa0b76d51ab4a7b4b3ac49e1c2"
		ctr    = "6b5e5b9f6c1a3c0b8a8f2e9d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b"
	)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var evs []Event
	add := func(ev Event) {
		ev.Version = SchemaVersion
		ev.Seq = int64(len(evs) + 1)
		ev.Time = t0.Add(time.Duration(len(evs)) * time.Millisecond)
		ev.Build = build
		evs = append(evs, ev)
	}
	total := stepsAfterFrom + 2
	add(Event{Type: BuildStart, BuildStartInfo: &BuildStartInfo{Context: ".", Dockerfile: "Dockerfile", ContextBytes: 2048, ContextFiles: 1, Steps: total, Tags: []string{"rommelrico/redis:latest"}}})
	add(Event{Type: StepStart, Step: 1, StepInfo: &StepInfo{Number: 1, Total: total, Instruction: "FROM", Original: "FROM alpine", Line: 1}})
	add(Event{Type: StepEnd, Step: 1, StepEndInfo: &StepEndInfo{Image: parent}})
	exit := 0
	for s := 2; s < stepsAfterFrom+2; s++ {
		add(Event{Type: StepStart, Step: s, StepInfo: &StepInfo{Number: s, Total: total, Instruction: "RUN", Original: "RUN apk add --update redis", Line: s}})
		add(Event{Type: CacheProbe, Step: s, Cache: &CacheInfo{Parent: parent, Key: "/bin/sh -c apk add --update redis", Reason: "new-instruction",
			Explanation: "nothing has been built on parent 3f53bb00af94 yet"}})
		add(Event{Type: ContainerCreate, Step: s, Container: &ContainerInfo{ID: ctr, Image: parent, Purpose: "build", Cmd: []string{"/bin/sh", "-c", "apk add --update redis"}, Started: true}})
		add(Event{Type: ContainerStart, Step: s, Container: &ContainerInfo{ID: ctr, Pid: 4242}})
		for i := range outputLines {
			add(Event{Type: Output, Step: s, Output: &OutputInfo{Container: ctr, Stream: "stdout", Text: fmt.Sprintf("(%d/%d) Installing redis (7.2.4-r0)\n", i+1, outputLines)}})
		}
		add(Event{Type: ContainerExit, Step: s, Container: &ContainerInfo{ID: ctr, ExitCode: &exit, DurationMS: 1834}})
		add(Event{Type: Snapshot, Step: s, Snapshot: &SnapshotInfo{Container: ctr, Added: 41, Changed: 3, Bytes: 7 << 20,
			Largest: []PathSize{{"/usr/bin/redis-server", 5 << 20}, {"/usr/bin/redis-benchmark", 1 << 20}},
			Paths:   []string{"A /usr/bin/redis-server", "A /usr/bin/redis-benchmark", "C /etc/apk/world"}}})
		add(Event{Type: Layer, Step: s, Layer: &LayerInfo{DiffID: image, Digest: image, Size: 3 << 20, UncompressedSize: 7 << 20, MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"}})
		add(Event{Type: Image, Step: s, Image: &ImageInfo{ID: image, Parent: parent, CreatedBy: "/bin/sh -c apk add --update redis", Layers: 2}})
		add(Event{Type: ContainerRemove, Step: s, Container: &ContainerInfo{ID: ctr, Purpose: "build"}})
		add(Event{Type: StepEnd, Step: s, StepEndInfo: &StepEndInfo{Image: image, DurationMS: 1900}})
	}
	last := stepsAfterFrom + 2
	add(Event{Type: StepStart, Step: last, StepInfo: &StepInfo{Number: last, Total: total, Instruction: "CMD", Original: `CMD ["redis-server"]`, Line: last}})
	add(Event{Type: CacheProbe, Step: last, Cache: &CacheInfo{Parent: image, Key: `/bin/sh -c #(nop)  CMD ["redis-server"]`, Reason: "earlier-miss", Explanation: "step 2 ran"}})
	add(Event{Type: Layer, Step: last, Layer: &LayerInfo{Empty: true}})
	add(Event{Type: StepEnd, Step: last, StepEndInfo: &StepEndInfo{Image: image, DurationMS: 12}})
	add(Event{Type: BuildEnd, BuildEndInfo: &BuildEndInfo{Image: image, DurationMS: 2100, Ran: stepsAfterFrom + 1}})
	add(Event{Type: Tag, Tag: &TagInfo{Image: image, Ref: "rommelrico/redis:latest"}})
	return evs
}

func encodeAll(tb testing.TB, evs []Event) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, ev := range evs {
		w.Record(ev)
	}
	if err := w.Err(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkWriter encodes a build's events as JSON lines (--trace FILE).
func BenchmarkWriter(b *testing.B) {
	evs := benchBuild(1, 20)
	size := len(encodeAll(b, evs))
	b.SetBytes(int64(size))
	w := NewWriter(io.Discard)
	for b.Loop() {
		for _, ev := range evs {
			w.Record(ev)
		}
	}
	if err := w.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}

// BenchmarkWriterUnknownFields encodes events read from a newer trace: the
// fields this version does not know are merged back in, a slower path.
func BenchmarkWriterUnknownFields(b *testing.B) {
	evs := benchBuild(1, 20)
	for i := range evs {
		evs[i].Unknown = map[string]json.RawMessage{"host": json.RawMessage(`"lab-03"`)}
		if evs[i].Cache != nil {
			evs[i].Cache.Unknown = map[string]json.RawMessage{"cost_ms": json.RawMessage(`3`)}
		}
	}
	data := encodeAll(b, evs)
	if !bytes.Contains(data, []byte(`"host":"lab-03"`)) || !bytes.Contains(data, []byte(`"cost_ms":3`)) {
		b.Fatal("unknown fields were not written")
	}
	b.SetBytes(int64(len(data)))
	w := NewWriter(io.Discard)
	for b.Loop() {
		for _, ev := range evs {
			w.Record(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}

// BenchmarkRead decodes a trace file: lessons replay and `berth trace` do.
func BenchmarkRead(b *testing.B) {
	evs := benchBuild(10, 20)
	data := encodeAll(b, evs)
	b.SetBytes(int64(len(data)))
	var got []Event
	for b.Loop() {
		var err error
		if got, err = Read(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	if len(got) != len(evs) || got[len(got)-1].Tag.Ref != "rommelrico/redis:latest" {
		b.Fatalf("read %d events, want %d ending with the tag", len(got), len(evs))
	}
	if again := encodeAll(b, got); !bytes.Equal(again, data) {
		b.Fatal("read and written again, the trace changed")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}

// BenchmarkConsole renders a build's events as Docker's classic output,
// what every `berth build` does, through the Stamper as the engine does.
func BenchmarkConsole(b *testing.B) {
	evs := benchBuild(1, 20)
	var out bytes.Buffer
	check := NewConsole(&out, io.Discard)
	for _, ev := range evs {
		check.Record(ev)
	}
	if !bytes.Contains(out.Bytes(), []byte("Step 2/3 : RUN apk add --update redis\n")) {
		b.Fatalf("console output lacks the RUN step line:\n%s", out.String())
	}
	rec := NewStamper(NewConsole(io.Discard, io.Discard))
	for b.Loop() {
		for _, ev := range evs {
			rec.Record(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}
