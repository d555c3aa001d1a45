package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/engine/errdefs"
	"github.com/stretchr/testify/require"
)

func frame(stream byte, payload string) []byte {
	hdr := make([]byte, 8)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr, payload...)
}

func TestDemuxSplitsTheStreams(t *testing.T) {
	var in bytes.Buffer
	in.Write(frame(1, "out 1\n"))
	in.Write(frame(2, "err 1\n"))
	in.Write(frame(1, "out 2\n"))
	var out, errOut bytes.Buffer
	require.NoError(t, Demux(&out, &errOut, &in))
	require.Equal(t, "out 1\nout 2\n", out.String())
	require.Equal(t, "err 1\n", errOut.String())

	require.ErrorContains(t, Demux(io.Discard, io.Discard, bytes.NewReader(frame(7, "x"))), "unknown stream 7")
	truncated := frame(1, "abcdef")[:10]
	require.Error(t, Demux(io.Discard, io.Discard, bytes.NewReader(truncated)))
}

func TestReadStreamEndsWithTheError(t *testing.T) {
	stream := `{"stream":"Step 1/2 : FROM busybox\n"}
{"status":"Pull complete","id":"a1b2c3d4e5f6"}
{"errorDetail":{"code":3,"message":"The command '/bin/sh -c exit 3' returned a non-zero code: 3"},"error":"The command '/bin/sh -c exit 3' returned a non-zero code: 3","BerthStep":2}
{"stream":"never read"}
`
	var got []api.Message
	err := ReadStream(strings.NewReader(stream), func(m api.Message) error {
		got = append(got, m)
		return nil
	})
	var se *StreamError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 3, se.Code)
	require.Equal(t, 2, se.Step)
	require.Equal(t, "The command '/bin/sh -c exit 3' returned a non-zero code: 3", se.Message)
	require.Len(t, got, 2)
	require.Equal(t, "a1b2c3d4e5f6", got[1].ID)
	require.ErrorContains(t, ReadStream(strings.NewReader("{bad"), func(api.Message) error { return nil }), "read the daemon's answer")
}

// fakeDaemon serves handler on a unix socket and returns a client for it.
func fakeDaemon(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	c, err := New("unix://"+sock, Options{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestErrorsCarryStatusAndExitCode(t *testing.T) {
	c := fakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		require.True(t, strings.HasPrefix(r.URL.Path, "/v"+api.APIVersion+"/"), r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, `{"message":"failed to create task for container: exec: \"x\": executable file not found in $PATH","BerthExitCode":127}`)
	})
	err := c.StartContainer(context.Background(), "abc")
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, http.StatusBadRequest, e.StatusCode)
	require.Equal(t, 127, e.ExitCode)
	require.Contains(t, e.Message, "executable file not found")
	require.False(t, IsNotFound(err))
}

func TestImageNamesKeepTheirSlashes(t *testing.T) {
	var paths []string
	c := fakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path+"?"+r.URL.RawQuery)
		w.WriteHeader(http.StatusCreated)
	})
	require.NoError(t, c.Tag(context.Background(), "rommelrico/redis:latest", "localhost:5000/redis", "1.0"))
	require.Equal(t, []string{"/v" + api.APIVersion + "/images/rommelrico/redis:latest/tag?repo=localhost%3A5000%2Fredis&tag=1.0"}, paths)
}

func TestConnectErrorSaysHowToStartTheDaemon(t *testing.T) {
	c, err := New("unix://"+filepath.Join(t.TempDir(), "none.sock"), Options{})
	require.NoError(t, err)
	err = c.Ping(context.Background())
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	require.Contains(t, err.Error(), "Cannot connect to the Berth daemon at unix://")
	require.Contains(t, err.Error(), "berth daemon --host")
	require.True(t, errdefs.IsUnavailable(err))
}

func TestAttachHijacksTheConnection(t *testing.T) {
	c := fakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "tcp", r.Header.Get("Upgrade"))
		require.Equal(t, "1", r.URL.Query().Get("stdin"))
		conn, rw, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		defer conn.Close()
		fmt.Fprint(rw, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		require.NoError(t, rw.Flush())
		line, err := rw.ReadString('\n')
		require.NoError(t, err)
		_, _ = rw.Write(frame(1, strings.ToUpper(line)))
		_, _ = rw.Write(frame(2, "bye\n"))
		require.NoError(t, rw.Flush())
	})
	conn, rd, err := c.Attach(context.Background(), "abc", true, true, true)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "hello\n")
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	require.NoError(t, Demux(&out, &errOut, rd))
	require.Equal(t, "HELLO\n", out.String())
	require.Equal(t, "bye\n", errOut.String())
}

// A remote error classifies as the daemon classified it: the status read
// back into its class.
func TestErrorsClassifyByStatus(t *testing.T) {
	for status, class := range map[int]errdefs.Class{
		http.StatusNotFound:            errdefs.NotFound,
		http.StatusConflict:            errdefs.Conflict,
		http.StatusBadRequest:          errdefs.InvalidParameter,
		http.StatusUnauthorized:        errdefs.Unauthorized,
		http.StatusInternalServerError: errdefs.Unknown,
	} {
		c := fakeDaemon(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintln(w, `{"message":"No such container: abc"}`)
		})
		err := c.StartContainer(context.Background(), "abc")
		require.EqualError(t, err, "No such container: abc")
		require.Equal(t, class, errdefs.Of(fmt.Errorf("start: %w", err)), status)
		require.Equal(t, status == http.StatusNotFound, IsNotFound(err))
	}
}
