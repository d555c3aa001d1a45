package lessons

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berthkit/berth/trace"
)

// rootlessBackend is the replay backend of an engine in rootless mode: it
// refuses user-defined networks, as the real one does, and keeps only the
// recorded actions a rootless run of manual-commit makes.
type rootlessBackend struct {
	*replayBackend
	runs     []RunSpec
	networks int
}

func (b *rootlessBackend) EngineMode() string { return ModeRootless }

func (b *rootlessBackend) Network(ctx context.Context, spec NetworkSpec) error {
	b.networks++
	return errors.New("network " + spec.Name + ": user-defined networks need root")
}

func (b *rootlessBackend) Run(ctx context.Context, spec RunSpec) error {
	b.runs = append(b.runs, spec)
	return b.replayBackend.Run(ctx, spec)
}

// In rootless mode manual-commit says that user-defined networks need
// root, shows the commands, never asks for a network, and still serves
// redis to a client through the published port; its claims count what ran.
func TestManualCommitRootless(t *testing.T) {
	l, err := Get("manual-commit")
	if err != nil {
		t.Fatal(err)
	}
	rb := newReplayBackend(t, "manual-commit")
	// The recording's actions 4 (network create app), 7 (a client on app)
	// and 9 (network rm app) are what rootless mode cannot do.
	segs := rb.segments
	rb.segments = append(append(append([][]trace.Event{}, segs[0:3]...), segs[4:6]...), segs[7])
	be := &rootlessBackend{replayBackend: rb}
	var out bytes.Buffer
	rep, err := Run(context.Background(), l, Options{Mode: Live, Base: "debian", Backend: be, Workspace: t.TempDir(), Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if be.networks != 0 {
		t.Errorf("the lesson asked a rootless engine for %d networks", be.networks)
	}
	if len(rb.calls) != 6 || len(be.runs) != 4 {
		t.Fatalf("engine calls %q, want 4 runs, a commit and an rm", rb.calls)
	}
	server, client := be.runs[2], be.runs[3]
	if !server.Detach || server.Network != "" || len(server.Publish) != 1 || server.Name != "redis" {
		t.Errorf("server run %+v: want -d -p on the default network", server)
	}
	if client.Network != "host" || !strings.Contains(strings.Join(client.Cmd, " "), "redis-cli -h 127.0.0.1 -p") {
		t.Errorf("client run %+v: want redis-cli over the host network", client)
	}
	if rb.calls[5] != "rm redis" {
		t.Errorf("last call %q, want rm redis", rb.calls[5])
	}
	if rep.Failed() != 0 || len(rep.Claims) != 4 {
		t.Errorf("%d claims, %d failed; want 4 held", len(rep.Claims), rep.Failed())
	}
	text := out.String()
	for _, want := range []string{
		"user-defined networks need root",
		"    berth network create app\n",
		"--network app --name redis ",
		"End of lesson manual-commit: all 4 checks held",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rootless lesson lacks %q:\n%s", want, text)
		}
	}
	for _, never := range []string{"A second container on `app`", "and its network."} {
		if strings.Contains(text, never) {
			t.Errorf("rootless lesson narrates %q, which it did not do", never)
		}
	}
}

// A rootless live lesson whose steps differ by mode is not recorded:
// recordings replay what root does.
func TestRootlessRecordRefused(t *testing.T) {
	l, err := Get("manual-commit")
	if err != nil {
		t.Fatal(err)
	}
	be := &rootlessBackend{replayBackend: newReplayBackend(t, "manual-commit")}
	var rec bytes.Buffer
	_, err = Run(context.Background(), l, Options{Mode: Live, Base: "debian", Backend: be, Workspace: t.TempDir(), Record: &rec})
	if err == nil || !strings.Contains(err.Error(), "record it as root") {
		t.Fatalf("recording rootless: %v, want a refusal", err)
	}
	if len(be.calls) != 0 {
		t.Errorf("engine calls %q before the refusal", be.calls)
	}
}
