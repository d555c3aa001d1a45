package daemon

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/trace"
)

func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

func TestProgressLinesBecomeStatusMessages(t *testing.T) {
	cases := map[string]api.Message{
		"a1b2c3d4e5f6: Pull complete":        {ID: "a1b2c3d4e5f6", Status: "Pull complete"},
		"latest: Pulling from library/redis": {ID: "latest", Status: "Pulling from library/redis"},
		"Digest: sha256:abc":                 {Status: "Digest: sha256:abc"},
		"1.0: digest: sha256:abc size: 527":  {Status: "1.0: digest: sha256:abc size: 527"},
		"The push refers to repository [x]":  {Status: "The push refers to repository [x]"},
	}
	for line, want := range cases {
		require.Equal(t, want, progressMessage(line), line)
	}
}

func TestJSONStreamStartsWithTheFirstMessage(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &responseWriter{ResponseWriter: rec}
	s := newJSONStream(w)
	require.False(t, s.started())
	out := &streamWriter{s: s}
	errOut := &streamWriter{s: s, stderr: true}
	_, err := io.WriteString(out, "Step 1/2 : FROM busybox\n")
	require.NoError(t, err)
	_, err = io.WriteString(errOut, "[Warning] careful\n")
	require.NoError(t, err)
	pw := &progressWriter{s: s}
	_, err = io.WriteString(pw, "a1b2c3d4e5f6: Pull complete\nDigest: sha")
	require.NoError(t, err)
	pw.Flush()
	require.NoError(t, s.sendError(io.ErrUnexpectedEOF, 3, 2))
	require.True(t, s.started())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	require.Equal(t, []string{
		`{"stream":"Step 1/2 : FROM busybox\n"}`,
		`{"stream":"\u001b[91m[Warning] careful\n\u001b[0m"}`,
		`{"status":"Pull complete","id":"a1b2c3d4e5f6"}`,
		`{"status":"Digest: sha"}`,
		`{"errorDetail":{"code":3,"message":"unexpected EOF"},"error":"unexpected EOF","BerthStep":2}`,
	}, lines)
}

func TestEventQueueBoundsWhatASlowClientLeaves(t *testing.T) {
	q := newEventQueue(3 * perEventCost)
	for i := 0; i < 3; i++ {
		require.True(t, q.push(trace.Event{Seq: int64(i)}))
	}
	require.False(t, q.push(trace.Event{Seq: 3}), "over the limit")
	require.True(t, q.overflowed())
	require.False(t, q.overflowed(), "reported once")
	ev, ok := q.pop(context.Background())
	require.True(t, ok)
	require.Equal(t, int64(0), ev.Seq)
	require.True(t, q.push(trace.Event{Seq: 4}), "room again")
	q.close()
	var seqs []int64
	for {
		ev, ok := q.pop(context.Background())
		if !ok {
			break
		}
		seqs = append(seqs, ev.Seq)
	}
	require.Equal(t, []int64{1, 2, 4}, seqs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ok = newEventQueue(1024).pop(ctx)
	require.False(t, ok)
}

func TestBuildRecorderKeepsOneBuildsEvents(t *testing.T) {
	cancelled := false
	r := &buildRecorder{contextDir: "/tmp/ctx-mine", queue: newEventQueue(1 << 20), cancel: func(error) { cancelled = true }}
	events := []trace.Event{
		{Type: trace.BuildStart, Build: "other", BuildStartInfo: &trace.BuildStartInfo{Context: "/tmp/ctx-other"}},
		{Type: trace.StepStart, Build: "other", StepInfo: &trace.StepInfo{Number: 1}},
		{Type: trace.BuildStart, Build: "mine", BuildStartInfo: &trace.BuildStartInfo{Context: "/tmp/ctx-mine"}},
		{Type: trace.StepStart, Build: "mine", StepInfo: &trace.StepInfo{Number: 1}},
		{Type: trace.Output, Build: "other", Output: &trace.OutputInfo{Text: "not mine"}},
		{Type: trace.Tag, Tag: &trace.TagInfo{Ref: "outside any build"}},
		{Type: trace.Output, Build: "mine", Output: &trace.OutputInfo{Text: "mine"}},
	}
	for _, ev := range events {
		r.Record(ev)
	}
	r.queue.close()
	var got []string
	for {
		ev, ok := r.queue.pop(context.Background())
		if !ok {
			break
		}
		got = append(got, ev.Build+" "+string(ev.Type))
	}
	require.Equal(t, []string{"mine build.start", "mine step.start", "mine output"}, got)
	require.False(t, cancelled)

	// A client that does not read: the build is stopped, not the engine.
	r = &buildRecorder{contextDir: "/c", queue: newEventQueue(perEventCost), cancel: func(error) { cancelled = true }}
	r.Record(trace.Event{Type: trace.BuildStart, Build: "b", BuildStartInfo: &trace.BuildStartInfo{Context: "/c"}})
	r.Record(trace.Event{Type: trace.Output, Build: "b", Output: &trace.OutputInfo{Text: "more"}})
	require.True(t, cancelled)
}

func TestContextPathStaysInTheContext(t *testing.T) {
	for in, want := range map[string]string{"": "Dockerfile", "Dockerfile.dev": "Dockerfile.dev", "sub/../Dockerfile": "Dockerfile", "./a/b": "a/b"} {
		got, err := contextPath(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"/etc/shadow", "..", "../x", "a/../../x"} {
		_, err := contextPath(bad)
		require.Error(t, err, bad)
	}
}

func TestDecompressDetectsGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte("plain tar bytes"))
	require.NoError(t, zw.Close())
	r, done, err := decompress(&buf)
	require.NoError(t, err)
	defer done()
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "plain tar bytes", string(data))

	r, done, err = decompress(strings.NewReader("plain"))
	require.NoError(t, err)
	defer done()
	data, _ = io.ReadAll(r)
	require.Equal(t, "plain", string(data))

	_, _, err = decompress(bytes.NewReader([]byte{0xfd, '7', 'z', 'X', 'Z', 0}))
	require.ErrorContains(t, err, "xz compression is not supported")
}

func TestVersionsCompareNumerically(t *testing.T) {
	require.Equal(t, 1, compareVersions("1.100", "1.47"))
	require.Equal(t, -1, compareVersions("1.9", "1.24"))
	require.Equal(t, 0, compareVersions("1.47", "1.47"))
}

func TestFiltersParameter(t *testing.T) {
	r := httptest.NewRequest("GET", `/images/json?filters={"dangling":{"true":true},"label":{"a=b":true,"c":false}}`, nil)
	got, err := filtersValue(&request{Request: r})
	require.NoError(t, err)
	require.Equal(t, []string{"dangling=true", "label=a=b"}, got)
	r = httptest.NewRequest("GET", `/images/json?filters={"reference":["busybox"]}`, nil)
	got, err = filtersValue(&request{Request: r})
	require.NoError(t, err)
	require.Equal(t, []string{"reference=busybox"}, got)
	data, _ := json.Marshal(api.Message{Stream: "x"})
	require.Equal(t, `{"stream":"x"}`, string(data))
}
