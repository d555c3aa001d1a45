package daemon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/stretchr/testify/require"
)

// stdcopy framing: without a terminal every write is one frame (stream
// byte, three zeros, big-endian length, payload); with one, raw bytes.
func TestMuxWriterFraming(t *testing.T) {
	var buf bytes.Buffer
	m := &muxWriter{w: &buf}
	_, err := m.streamOf(1).Write([]byte("out\n"))
	require.NoError(t, err)
	_, err = m.streamOf(2).Write([]byte("err!\n"))
	require.NoError(t, err)
	_, err = m.streamOf(1).Write(nil) // nothing: no empty frame
	require.NoError(t, err)
	data := buf.Bytes()
	var frames []string
	for len(data) > 0 {
		require.GreaterOrEqual(t, len(data), 8)
		require.Equal(t, []byte{0, 0, 0}, data[1:4])
		n := binary.BigEndian.Uint32(data[4:8])
		frames = append(frames, string(rune('0'+data[0]))+":"+string(data[8:8+n]))
		data = data[8+n:]
	}
	require.Equal(t, []string{"1:out\n", "2:err!\n"}, frames)

	buf.Reset()
	raw := &muxWriter{w: &buf, tty: true}
	_, _ = raw.streamOf(1).Write([]byte("a"))
	_, _ = raw.streamOf(2).Write([]byte("b"))
	require.Equal(t, "ab", buf.String())
}

func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string][]byte{
		"":               {16, 17},
		"ctrl-p,ctrl-q":  {16, 17},
		"ctrl-a":         {1},
		"ctrl-@,x":       {0, 'x'},
		"ctrl-\\,ctrl-_": {28, 31},
	} {
		got, err := parseDetachKeys(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"ctrl-", "ctrl-1", "ctrl-pq", "ab", "ctrl-p,,ctrl-q"} {
		_, err := parseDetachKeys(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "Invalid detach keys")
	}
}

func TestEscapeProxy(t *testing.T) {
	keys := []byte{16, 17}
	read := func(in string) (string, error) {
		out, err := io.ReadAll(newEscapeProxy(strings.NewReader(in), keys))
		return string(out), err
	}
	// The keys end the input; what came before passes, what follows not.
	out, err := read("ls\n\x10\x11exit\n")
	require.True(t, errors.Is(err, errDetached))
	require.Equal(t, "ls\n", out)
	// A prefix of the keys that is not followed by the rest is data.
	out, err = read("a\x10b\x10\x10c")
	require.NoError(t, err)
	require.Equal(t, "a\x10b\x10\x10c", out)
	// The input ends inside a partial sequence: it is passed on.
	out, err = read("end\x10")
	require.NoError(t, err)
	require.Equal(t, "end\x10", out)
	// One byte at a time, as a terminal sends them.
	r := newEscapeProxy(&oneByteReader{s: "hi\x10\x11after"}, keys)
	out2, err := io.ReadAll(r)
	require.True(t, errors.Is(err, errDetached))
	require.Equal(t, "hi", string(out2))
}

type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestEventFilter(t *testing.T) {
	id := strings.Repeat("ab", 32)
	create := message(events.ContainerEventType, events.ActionCreate, id, map[string]string{"name": "web", "image": "busybox", "tier": "front"}, time.Unix(100, 0))
	execStart := message(events.ContainerEventType, events.Action("exec_start: sh -c ls"), id, map[string]string{"name": "web", "image": "busybox"}, time.Unix(101, 0))
	tag := message(events.ImageEventType, events.ActionTag, "sha256:"+id, map[string]string{"name": "busybox:latest"}, time.Unix(102, 0))
	cases := []struct {
		f    eventFilter
		want [3]bool
	}{
		{eventFilter{}, [3]bool{true, true, true}},
		{eventFilter{"type": {"container"}}, [3]bool{true, true, false}},
		{eventFilter{"container": {"web"}}, [3]bool{true, true, false}},
		{eventFilter{"container": {id[:12]}}, [3]bool{true, true, false}},
		{eventFilter{"container": {"other"}}, [3]bool{false, false, false}},
		{eventFilter{"event": {"exec_start"}}, [3]bool{false, true, false}},
		{eventFilter{"event": {"create", "tag"}}, [3]bool{true, false, true}},
		{eventFilter{"image": {"busybox"}}, [3]bool{true, true, true}},
		{eventFilter{"label": {"tier=front"}}, [3]bool{true, false, false}},
		{eventFilter{"label": {"tier"}}, [3]bool{true, false, false}},
		{eventFilter{"type": {"container"}, "event": {"tag"}}, [3]bool{false, false, false}},
	}
	for _, tc := range cases {
		got := [3]bool{tc.f.match(create), tc.f.match(execStart), tc.f.match(tag)}
		require.Equal(t, tc.want, got, "%v", tc.f)
	}
}

func TestParseEventTime(t *testing.T) {
	got, err := parseEventTime("since", "1700000000.5")
	require.NoError(t, err)
	require.Equal(t, time.Unix(1700000000, 500000000), got)
	got, err = parseEventTime("until", "1700000000")
	require.NoError(t, err)
	require.Equal(t, time.Unix(1700000000, 0), got)
	for _, bad := range []string{"yesterday", "1.2.3", "12.1234567890", "-"} {
		_, err := parseEventTime("since", bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "invalid value for since")
	}
}

// The hub keeps the last eventKeep events; a follower asking from an
// evicted position gets what is left, never a panic.
func TestEventHubSince(t *testing.T) {
	h := &eventHub{changed: make(chan struct{}), actors: map[string]map[string]string{}}
	for i := 0; i < eventKeep+10; i++ {
		h.add(message(events.ContainerEventType, events.ActionStart, "c", nil, time.Unix(int64(i), 0)))
	}
	got, seq, _ := h.since(0)
	require.Len(t, got, eventKeep)
	require.Equal(t, int64(10), got[0].Time)
	require.Equal(t, eventKeep+10, seq)
	h.add(message(events.ContainerEventType, events.ActionStop, "c", nil, time.Now()))
	got, _, _ = h.since(seq)
	require.Len(t, got, 1)
	require.Equal(t, events.ActionStop, got[0].Action)
}

func TestZeroJSON(t *testing.T) {
	for _, z := range []string{`null`, `0`, `""`, `false`, `[]`, `{}`, `{"Name":"","MaximumRetryCount":0}`} {
		require.True(t, zeroJSON([]byte(z)), z)
	}
	for _, nz := range []string{`1`, `"x"`, `true`, `[0]`, `{"Name":"always"}`} {
		require.False(t, zeroJSON([]byte(nz)), nz)
	}
}

func TestConfigChanges(t *testing.T) {
	got := configChanges(&container.Config{
		Cmd: []string{"cat", "/made"}, Entrypoint: []string{"/bin/sh", "-c"},
		Env: []string{"A=1 2", "bad"}, WorkingDir: "/w", User: "nobody",
		Labels: map[string]string{"b": "2", "a": "x\"y"},
	})
	require.Equal(t, []string{
		`CMD ["cat","/made"]`, `ENTRYPOINT ["/bin/sh","-c"]`, `ENV A="1 2"`,
		`WORKDIR /w`, `USER nobody`, `LABEL "a"="x\"y"`, `LABEL "b"="2"`,
	}, got)
	require.Empty(t, configChanges(&container.Config{}))
}
