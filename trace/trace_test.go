package trace

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRoundTripKeepsUnknownFields(t *testing.T) {
	in := `{"v":1,"seq":7,"time":"2026-11-27T12:00:00Z","type":"cache.probe","build":"b1","step":2,"future":{"x":1},` +
		`"cache":{"parent":"sha256:aa","key":"/bin/sh -c true","hit":false,"reason":"new-instruction","explanation":"e","newer":"kept"}}` + "\n" +
		`{"v":2,"seq":8,"time":"2026-11-27T12:00:01Z","type":"brand.new","payload":[1,2]}` + "\n"
	events, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("got %d events", len(events))
	}
	e := events[0]
	if e.Type != CacheProbe || e.Step != 2 || e.Cache == nil || e.Cache.Reason != "new-instruction" {
		t.Fatalf("decoded wrong: %+v", e)
	}
	if string(e.Unknown["future"]) != `{"x":1}` || string(e.Cache.Unknown["newer"]) != `"kept"` {
		t.Fatalf("unknown fields lost: %v %v", e.Unknown, e.Cache.Unknown)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, ev := range events {
		w.Record(ev)
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	again, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range events {
		a, _ := json.Marshal(events[i])
		b, _ := json.Marshal(again[i])
		if !jsonEqual(t, a, b) {
			t.Fatalf("event %d changed on round trip:\n%s\n%s", i, a, b)
		}
	}
	if string(again[1].Unknown["payload"]) != "[1,2]" {
		t.Fatalf("unknown event type's payload lost: %v", again[1].Unknown)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func TestReadRejectsGarbageWithLineNumber(t *testing.T) {
	_, err := Read(strings.NewReader("{\"v\":1,\"type\":\"tag\"}\n\nnot json\n"))
	if err == nil || !strings.Contains(err.Error(), "trace line 3") {
		t.Fatalf("want line 3 error, got %v", err)
	}
	_, err = Read(strings.NewReader(`{"v":1}`))
	if err == nil || !strings.Contains(err.Error(), "no type") {
		t.Fatalf("want no-type error, got %v", err)
	}
}

func TestStamperNumbersInOrder(t *testing.T) {
	var buf Buffer
	s := NewStamper(&buf)
	s.now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	for i := 0; i < 3; i++ {
		s.Record(Event{Type: Message})
	}
	for i, e := range buf.Events() {
		if e.Seq != int64(i+1) || e.Version != SchemaVersion || e.Time.IsZero() {
			t.Fatalf("event %d badly stamped: %+v", i, e)
		}
	}
}

func TestConsoleFailedStepAndUnterminatedOutput(t *testing.T) {
	var out bytes.Buffer
	c := NewConsole(&out, nil)
	c.Record(Event{Type: StepStart, StepInfo: &StepInfo{Number: 1, Total: 2, Original: "FROM scratch"}})
	c.Record(Event{Type: StepEnd, StepEndInfo: &StepEndInfo{}})
	c.Record(Event{Type: StepStart, StepInfo: &StepInfo{Number: 2, Total: 2, Original: "RUN printf x"}})
	c.Record(Event{Type: ContainerCreate, Container: &ContainerInfo{ID: strings.Repeat("ab", 32), Purpose: "build"}})
	c.Record(Event{Type: Output, Output: &OutputInfo{Stream: "stdout", Text: "x"}})
	c.Record(Event{Type: ContainerRemove, Container: &ContainerInfo{ID: strings.Repeat("ab", 32), Purpose: "build"}})
	c.Record(Event{Type: StepEnd, StepEndInfo: &StepEndInfo{Error: "boom"}})
	want := "Step 1/2 : FROM scratch\n ---> \nStep 2/2 : RUN printf x\n ---> Running in abababababab\nx\nRemoving intermediate container abababababab\n"
	if out.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", out.String(), want)
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 512: "512B", 2048: "2.048kB", 7_050_000: "7.05MB", 1_500_000_000: "1.5GB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %s, want %s", n, got, want)
		}
	}
}

// The container event's networks, ports and mounts read back as written,
// and a trace without them (written before they existed) still reads.
func TestContainerNetworksPortsMountsRoundTrip(t *testing.T) {
	line := `{"v":1,"seq":2,"time":"2026-11-27T12:00:00Z","type":"container.start","container":{"id":"c1","purpose":"run","pid":7,` +
		`"network_mode":"app","networks":[{"name":"app","ip":"172.18.0.2","aliases":["db"]}],` +
		`"ports":[{"container_port":6379,"proto":"tcp","host_port":6379}],` +
		`"mounts":[{"type":"volume","name":"data","source":"/v/data/_data","destination":"/data","rw":true},{"type":"tmpfs","destination":"/run","rw":false}]}}` + "\n"
	events, err := Read(strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	c := events[0].Container
	if c.NetworkMode != "app" || len(c.Networks) != 1 || c.Networks[0].IP != "172.18.0.2" || c.Networks[0].Aliases[0] != "db" ||
		len(c.Ports) != 1 || c.Ports[0].HostPort != 6379 || len(c.Mounts) != 2 || c.Mounts[1].RW || c.Mounts[0].Name != "data" {
		t.Fatalf("decoded wrong: %+v", c)
	}
	if len(c.Unknown) != 0 {
		t.Fatalf("known fields kept as unknown: %v", c.Unknown)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Record(events[0])
	if buf.String() != line {
		t.Fatalf("re-encoded differently:\n got %s\nwant %s", buf.String(), line)
	}
	old, err := Read(strings.NewReader(`{"v":1,"seq":1,"time":"2026-11-27T12:00:00Z","type":"container.start","container":{"id":"c1","pid":7}}` + "\n"))
	if err != nil || old[0].Container.Networks != nil || old[0].Container.Mounts != nil {
		t.Fatalf("old trace: %v %+v", err, old)
	}
}
