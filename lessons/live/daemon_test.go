package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/lessons"
	"github.com/berthkit/berth/trace"
)

// fakeDaemon answers /_ping, streams /berth/trace and builds: it reads the
// whole context, then emits build.start and build.end on its trace before
// answering, as berth daemon does.
type fakeDaemon struct {
	events   chan trace.Event
	received int64
}

func (f *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/_ping"):
		_, _ = io.WriteString(w, "OK")
	case strings.HasSuffix(r.URL.Path, "/berth/trace"):
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		enc := json.NewEncoder(w)
		for {
			select {
			case ev := <-f.events:
				_ = enc.Encode(ev)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	case strings.HasSuffix(r.URL.Path, "/build"):
		n, _ := io.Copy(io.Discard, r.Body)
		f.received = n
		f.events <- trace.Event{Version: 1, Type: trace.BuildStart, Build: "b1", BuildStartInfo: &trace.BuildStartInfo{Context: "/srv/ctx", ContextBytes: n}}
		f.events <- trace.Event{Version: 1, Type: trace.BuildEnd, Build: "b1", BuildEndInfo: &trace.BuildEndInfo{Image: "sha256:" + strings.Repeat("c", 64)}}
		_, _ = io.WriteString(w, `{"stream":"Step 1/1 : FROM busybox\n"}`+"\n"+`{"aux":{"ID":"sha256:`+strings.Repeat("c", 64)+`"}}`+"\n")
	default:
		http.NotFound(w, r)
	}
}

func startFake(t *testing.T) (string, *fakeDaemon) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDaemon{events: make(chan trace.Event, 16)}
	srv := &http.Server{Handler: f}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock, f
}

// A build through the daemon is recorded as the notes draw it: the
// client's request, the upload of the context, the server's events, the
// answer — in that order, with the bytes that went over the socket.
func TestDaemonBuildTrace(t *testing.T) {
	host, f := startFake(t)
	be, err := Dial(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte("FROM busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf trace.Buffer
	defer be.AddRecorder(&buf)()
	if err := be.Build(context.Background(), ws, lessons.BuildSpec{Context: "."}); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range buf.Events() {
		types = append(types, string(ev.Type))
	}
	want := "client.request client.upload build.start build.end client.response"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	up := buf.Events()[1].Client
	if up.Bytes != f.received || up.Files != 1 || up.Host != host || up.Path != "/build" {
		t.Errorf("upload %+v, the daemon received %d bytes", up, f.received)
	}
	if img := buf.Events()[4].Client.Image; img != "sha256:"+strings.Repeat("c", 64) {
		t.Errorf("answer names image %q", img)
	}
	for i, ev := range buf.Events() {
		if ev.Seq != int64(i+1) {
			t.Errorf("event %d has seq %d: one sequence for the client's and the daemon's events", i, ev.Seq)
		}
	}
}

// No daemon: ErrNoDaemon, with what to do.
func TestDialNoDaemon(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	_, err := Dial(context.Background(), host)
	if !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("err = %v, want ErrNoDaemon", err)
	}
	for _, want := range []string{"start one with `berth daemon --host " + host + "`", "drop --via-daemon"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

func TestReadBuildAnswer(t *testing.T) {
	img, err := readBuildAnswer(strings.NewReader(`{"stream":"x"}` + "\n" + `{"aux":{"ID":"sha256:ab"}}`))
	if err != nil || img != "sha256:ab" {
		t.Errorf("got %q, %v", img, err)
	}
	_, err = readBuildAnswer(strings.NewReader(`{"errorDetail":{"code":3,"message":"The command returned a non-zero code: 3"},"error":"x"}`))
	if err == nil || err.Error() != "The command returned a non-zero code: 3" {
		t.Errorf("err = %v", err)
	}
	if _, err = readBuildAnswer(strings.NewReader(`{"stream":`)); err == nil {
		t.Error("a cut answer is an error")
	}
}

func TestSplitRef(t *testing.T) {
	for ref, want := range map[string][2]string{
		"myredis":                     {"myredis", ""},
		"rommelrico/redis:1.0":        {"rommelrico/redis", "1.0"},
		"localhost:5000/redis":        {"localhost:5000/redis", ""},
		"localhost:5000/redis:latest": {"localhost:5000/redis", "latest"},
	} {
		repo, tag := splitRef(ref)
		if repo != want[0] || tag != want[1] {
			t.Errorf("splitRef(%q) = %q, %q", ref, repo, tag)
		}
	}
}

func TestWaitReady(t *testing.T) {
	ctx := context.Background()
	polls := 0
	logs := func(_ context.Context, buf *bytes.Buffer) error {
		polls++
		if polls >= 3 {
			buf.WriteString("1:M * Ready to accept connections tcp\n")
		}
		return nil
	}
	up := func(context.Context) bool { return true }
	if err := waitReady(ctx, "abc", "Ready to accept connections", logs, up); err != nil || polls != 3 {
		t.Fatalf("err %v after %d polls", err, polls)
	}
	down := func(context.Context) bool { return false }
	err := waitReady(ctx, "abc", "never", func(context.Context, *bytes.Buffer) error { return nil }, down)
	if err == nil || err.Error() != `container abc stopped before its log said "never"` {
		t.Errorf("err = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := waitReady(cctx, "abc", "never", func(context.Context, *bytes.Buffer) error { return nil }, up); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want canceled", err)
	}
}
