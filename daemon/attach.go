package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/berthkit/berth/engine"
)

func jsonMarshal(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// hijack takes the connection over for an attach or exec stream, answering
// as Docker does: 101 UPGRADED when the client asked to upgrade to tcp,
// 200 with the raw stream otherwise.
func hijack(w *responseWriter, r *request, mediaType string) (net.Conn, *bufio.Reader, error) {
	conn, rw, err := w.Hijack()
	if err != nil {
		return nil, nil, err
	}
	var head string
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		head = fmt.Sprintf("HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", mediaType)
	} else {
		head = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", mediaType)
	}
	if _, err := rw.Writer.WriteString(head); err != nil {
		conn.Close()
		return nil, nil, err
	}
	if err := rw.Writer.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, rw.Reader, nil
}

// closeOnce closes a hijacked connection once.
func closeOnce(conn net.Conn) func() {
	var once sync.Once
	return func() { once.Do(func() { conn.Close() }) }
}

// containerAttach is POST /containers/{id}/attach: the container's streams
// over the hijacked connection until it stops. Attaching before the
// container starts (docker run) sees everything it writes.
func (s *Server) containerAttach(w *responseWriter, r *request) error {
	ctx := r.Context()
	c, err := s.lookup(ctx, r.name)
	if err != nil {
		return err
	}
	wantIn, wantOut, wantErr := boolValue(r, "stdin", false), boolValue(r, "stdout", false), boolValue(r, "stderr", false)
	stream, logs := boolValue(r, "stream", false), boolValue(r, "logs", false)
	keys, err := parseDetachKeys(r.URL.Query().Get("detachKeys"))
	if err != nil {
		return err
	}
	conn, in, err := hijack(w, r, streamMediaType(c.Config.Tty))
	if err != nil {
		return err
	}
	att := &attachment{
		out:    &muxWriter{w: conn, tty: c.Config.Tty},
		stdout: wantOut, stderr: wantErr,
		close: closeOnce(conn),
		done:  make(chan struct{}),
	}
	if wantIn && c.Config.OpenStdin {
		att.stdin = in
		if c.Config.Tty {
			// As dockerd, the detach keys work on a terminal only.
			att.stdin = newEscapeProxy(in, keys)
		}
	}
	outs := func() (io.Writer, io.Writer) {
		var out, errOut io.Writer = discard{}, discard{}
		if wantOut {
			out = att.out.streamOf(1)
		}
		if wantErr {
			errOut = att.out.streamOf(2)
		}
		return out, errOut
	}
	if logs {
		out, errOut := outs()
		_ = s.eng.ContainerLogs(ctx, c.ID, engine.LogsOptions{Tail: -1}, out, errOut)
	}
	if !stream {
		att.end()
		return nil
	}
	s.sup.attach(c.ID, att)
	if c.State.Running() && !s.sup.running(c.ID) {
		// Started by the CLI: its shim holds the streams, the log has
		// them. Follow the log from now until the container stops.
		go func() {
			out, errOut := outs()
			_ = s.eng.ContainerLogs(ctx, c.ID, engine.LogsOptions{Follow: true, Tail: 0}, out, errOut)
			s.sup.detach(c.ID, att)
		}()
	}
	select {
	case <-att.done:
	case <-s.ctx.Done():
		s.sup.detach(c.ID, att)
	}
	return nil
}
