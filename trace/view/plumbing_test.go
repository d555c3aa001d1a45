package view

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/trace"
)

// plumbingTrace is `berth run -d --name redis --network app --network-alias db
// -p 6379 -v data:/data -v /src:/app:ro --tmpfs /tmp redis`, then a
// container on the host's network and one on none.
func plumbingTrace() []trace.Event {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	mounts := []trace.ContainerMount{
		{Type: "volume", Name: "data", Source: "/var/lib/berth/volumes/data/_data", Destination: "/data", RW: true},
		{Type: "bind", Source: "/src", Destination: "/app"},
		{Type: "tmpfs", Destination: "/tmp", RW: true},
	}
	zero := 0
	ev := func(seq int64, typ trace.Type, c *trace.ContainerInfo) trace.Event {
		return trace.Event{Version: trace.SchemaVersion, Seq: seq, Time: t0.Add(time.Duration(seq) * time.Second), Type: typ, Container: c}
	}
	return []trace.Event{
		ev(1, trace.ContainerCreate, &trace.ContainerInfo{ID: "aaaa00000001", Name: "redis", Image: "bbbb00000001", Purpose: "run", Cmd: []string{"redis-server"},
			NetworkMode: "app", Networks: []trace.ContainerNetwork{{Name: "app", Aliases: []string{"db"}}},
			Ports:  []trace.ContainerPort{{ContainerPort: 6379, Proto: "tcp"}},
			Mounts: mounts}),
		ev(2, trace.ContainerStart, &trace.ContainerInfo{ID: "aaaa00000001", Name: "redis", Image: "bbbb00000001", Purpose: "run", Cmd: []string{"redis-server"}, Pid: 42,
			NetworkMode: "app", Networks: []trace.ContainerNetwork{{Name: "app", IP: "172.18.0.2", Aliases: []string{"db"}}},
			Ports:  []trace.ContainerPort{{ContainerPort: 6379, Proto: "tcp", HostPort: 32768}},
			Mounts: mounts}),
		ev(3, trace.ContainerExit, &trace.ContainerInfo{ID: "aaaa00000001", ExitCode: &zero, DurationMS: 1000}),
		ev(4, trace.ContainerCreate, &trace.ContainerInfo{ID: "aaaa00000002", Image: "bbbb00000001", Purpose: "run", Cmd: []string{"sh"}, NetworkMode: "host",
			Ports: []trace.ContainerPort{{ContainerPort: 80, Proto: "udp", HostIP: "127.0.0.1", HostPort: 8080}}}),
		ev(5, trace.ContainerCreate, &trace.ContainerInfo{ID: "aaaa00000003", Image: "bbbb00000001", Purpose: "run", Cmd: []string{"sh"}, NetworkMode: "none"}),
	}
}

func TestPlumbingInTree(t *testing.T) {
	var out bytes.Buffer
	RenderTree(&out, NewModel(plumbingTrace()), Style{})
	for _, want := range []string{
		"run container aaaa00000001  name redis · ran redis-server · network app 172.18.0.2 (aliases db) · ports 0.0.0.0:32768->6379/tcp · mounts volume data:/data, bind /src:/app:ro, tmpfs /tmp · exit 0",
		"run container aaaa00000002  network host (the host's own interfaces) · ports 127.0.0.1:8080->80/udp",
		"run container aaaa00000003  network none (loopback only)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the tree lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPlumbingAnnotated(t *testing.T) {
	var out bytes.Buffer
	RenderAnnotated(&out, plumbingTrace(), Style{})
	text := out.String()
	// Creation says what was asked.
	for _, want := range []string{
		"  ▸ container aaaa00000001 (name redis) created from image bbbb00000001, to run redis-server\n" +
			"      network app (aliases db)\n" +
			"      ports 0.0.0.0:(free port)->6379/tcp\n" +
			"      mounts volume data:/data, bind /src:/app:ro, tmpfs /tmp\n" +
			"  ▸ container aaaa00000001 started",
		"      network none (loopback only)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the annotated view lacks %q:\n%s", want, text)
		}
	}
}

func TestPlumbingInHTML(t *testing.T) {
	var out bytes.Buffer
	if err := RenderHTML(&out, NewModel(plumbingTrace()), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<li>network app 172.18.0.2 (aliases db)</li>",
		"<li>ports 0.0.0.0:32768-&gt;6379/tcp</li>",
		"<li>mounts volume data:/data, bind /src:/app:ro, tmpfs /tmp</li>",
		"<li>network host (the host&#39;s own interfaces)</li>",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// Build containers carry no plumbing, so their lines do not change.
func TestNoPlumbingForBuildContainers(t *testing.T) {
	if lines := plumbingLines(&trace.ContainerInfo{ID: "x", Purpose: "build"}); len(lines) != 0 {
		t.Errorf("a build container shows %q", lines)
	}
}
