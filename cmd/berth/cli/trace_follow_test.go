package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/trace"
)

// traceDaemon serves a fixed trace on GET /berth/trace over a unix socket.
func traceDaemon(t *testing.T, events []trace.Event) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "berth.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v"+api.APIVersion+api.TracePath, r.URL.Path)
		w.Header().Set("Content-Type", "application/x-ndjson")
		for _, ev := range events {
			data, err := json.Marshal(ev)
			require.NoError(t, err)
			_, _ = w.Write(append(data, '\n'))
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

func TestTraceFollowPrintsTheDaemonsEvents(t *testing.T) {
	events := []trace.Event{
		{Version: trace.SchemaVersion, Seq: 1, Type: trace.BuildStart, Build: "b1", BuildStartInfo: &trace.BuildStartInfo{Context: "/var/lib/berth/tmp/build-context-1", ContextBytes: 2048, Steps: 1}},
		{Version: trace.SchemaVersion, Seq: 2, Type: trace.StepStart, Build: "b1", Step: 1, StepInfo: &trace.StepInfo{Number: 1, Total: 1, Original: "FROM busybox"}},
	}
	host := traceDaemon(t, events)
	run := func(args ...string) string {
		var out bytes.Buffer
		g := &globalOptions{host: host}
		cmd := newTraceFollowCmd(g)
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		require.NoError(t, cmd.Execute())
		return out.String()
	}

	lines := strings.Split(strings.TrimSpace(run()), "\n")
	require.Len(t, lines, 2)
	got, err := trace.Read(strings.NewReader(strings.Join(lines, "\n")))
	require.NoError(t, err)
	require.Equal(t, trace.StepStart, got[1].Type)

	require.Equal(t, "Sending build context to Berth engine  2.048kB\nStep 1/1 : FROM busybox\n", run("--view", "classic"))

	g := &globalOptions{host: host}
	cmd := newTraceFollowCmd(g)
	cmd.SetArgs([]string{"--view", "tree"})
	cmd.SetOut(&bytes.Buffer{})
	require.ErrorContains(t, cmd.Execute(), `--view "tree": use json, classic or annotated`)
}
