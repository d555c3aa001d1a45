package daemon

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/engine/build"
	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/trace"
)

// maxQueuedOutput bounds what a build's client may leave unread before the
// build is stopped: a client that stops reading must not hold the engine.
const maxQueuedOutput = 64 << 20

// build is POST /build: the body is the context as a tar (plain, gzip,
// bzip2 or zstd), unpacked into a directory of its own under the store's
// tmp/ and built with the classic builder. The response streams the
// builder's console, as {"stream": ...} messages, then {"aux":{"ID":...}}.
// The client prints "Sending build context to ..." itself; disconnecting
// cancels the build, which removes its intermediate containers.
func (s *Server) build(w *responseWriter, r *request) error {
	opts, quiet, err := buildOptions(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	dir, err := s.eng.TempDir("build-context-")
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := s.unpackContext(ctx, dir, r.Body); err != nil {
		return err
	}
	opts.ContextDir = dir

	stream := newJSONStream(w)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rec := &buildRecorder{contextDir: dir, queue: newEventQueue(maxQueuedOutput), cancel: cancel}
	var console *buildConsole
	if !quiet {
		opts.Progress = &progressWriter{s: stream}
		console = startBuildConsole(stream, rec.queue)
		defer s.eng.AddRecorder(rec)()
	}
	res, err := s.eng.Build(ctx, opts)
	auxSent := false
	if console != nil {
		rec.queue.close()
		<-console.done
		auxSent = console.auxSent
	}
	if err != nil {
		return buildFailed(ctx, r.Context(), stream, err)
	}
	if quiet {
		if err := stream.send(api.Message{Stream: res.ImageID.String() + "\n"}); err != nil {
			return err
		}
	}
	if auxSent {
		return nil
	}
	return stream.send(auxID(res.ImageID.String()))
}

// buildOptions reads POST /build's query into the builder's options,
// refusing what Berth does not implement; quiet is docker build -q.
func buildOptions(r *request) (opts build.Options, quiet bool, err error) {
	q := r.URL.Query()
	if remote := q.Get("remote"); remote != "" {
		return opts, false, badRequestf("remote build contexts (%s) are not supported: clone or download it and send the directory", remote)
	}
	if q.Get("version") == "2" {
		return opts, false, badRequestf("BuildKit is not supported: Berth builds with Docker's classic builder (set DOCKER_BUILDKIT=0)")
	}
	if err := refuseBuildParams(q); err != nil {
		return opts, false, err
	}
	opts = build.Options{
		Tags:        q["t"],
		Target:      q.Get("target"),
		NoCache:     boolValue(r, "nocache", false),
		Remove:      boolValue(r, "rm", true),
		ForceRemove: boolValue(r, "forcerm", false),
		Pull:        boolValue(r, "pull", false),
		Platform:    q.Get("platform"),
		BuildArgs:   map[string]*string{},
		Labels:      map[string]string{},
	}
	if opts.Dockerfile, err = contextPath(q.Get("dockerfile")); err != nil {
		return opts, false, err
	}
	switch mode := q.Get("networkmode"); mode {
	case "", "default", "bridge":
		opts.Network = "bridge"
	case "host", "none":
		opts.Network = mode
	default:
		return opts, false, badRequestf("network mode %q is not supported: use default, host or none", mode)
	}
	if raw := q.Get("buildargs"); raw != "" {
		var args map[string]*string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			return opts, false, badRequestf("invalid buildargs: %v", err)
		}
		for k, v := range args {
			// A value the client could not resolve stays unset: the
			// daemon's own environment is not the user's.
			if v != nil {
				opts.BuildArgs[k] = v
			}
		}
	}
	if raw := q.Get("labels"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &opts.Labels); err != nil {
			return opts, false, badRequestf("invalid labels: %v", err)
		}
	}
	return opts, boolValue(r, "q", false), nil
}

// buildFailed ends the stream with the build's error, as dockerd's
// errorDetail: a RUN step's exit code and step number with it, and the
// reason the build was stopped (a client not reading) rather than a bare
// "context canceled". Nothing is sent once the client is gone.
func buildFailed(ctx, client context.Context, stream *jsonStream, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	code, step := 0, 0
	var se *build.StepError
	if errors.As(err, &se) {
		code, step = se.ExitCode, se.Step
		if step == 0 {
			step = -1
		}
	}
	if client.Err() != nil {
		return err // nobody is listening
	}
	return stream.sendError(err, code, step)
}

// buildConsole renders one build's events to its client as docker build
// prints them, from the queue its recorder fills.
type buildConsole struct {
	stream  *jsonStream
	console *trace.Console
	// auxSent says the image's ID went out; read it once done is closed.
	auxSent bool
	done    chan struct{}
}

func startBuildConsole(stream *jsonStream, queue *eventQueue) *buildConsole {
	c := &buildConsole{
		stream:  stream,
		console: trace.NewConsole(&streamWriter{s: stream}, &streamWriter{s: stream, stderr: true}),
		done:    make(chan struct{}),
	}
	go func() {
		defer close(c.done)
		for {
			ev, ok := queue.pop(context.Background())
			if !ok {
				return
			}
			c.render(ev)
		}
	}()
	return c
}

func (c *buildConsole) render(ev trace.Event) {
	// The client printed its own "Sending build context" line. The image's
	// ID goes before "Successfully built", as dockerd sends it.
	if id := builtImage(ev); id != "" && !c.auxSent {
		c.auxSent = true
		_ = c.stream.send(auxID(id))
	}
	// A RUN step's stderr is red in docker's terminal: dockerd wraps each
	// write in StderrStart and StderrEnd.
	if o := ev.Output; ev.Type == trace.Output && o != nil && o.Stream == "stderr" && o.Text != "" {
		_ = c.stream.send(api.Message{Stream: api.StderrStart + o.Text + api.StderrEnd})
		return
	}
	if ev.Type != trace.BuildStart {
		c.console.Record(ev)
	}
}

// auxID is the {"aux":{"ID":...}} message that names the built image.
func auxID(id string) api.Message {
	aux, _ := json.Marshal(map[string]string{"ID": id})
	raw := json.RawMessage(aux)
	return api.Message{Aux: &raw}
}

// builtImage is the image a build's tag or end event names: the one the
// console prints "Successfully built" for.
func builtImage(ev trace.Event) string {
	switch {
	case ev.Type == trace.Tag && ev.Tag != nil && ev.Build != "":
		return ev.Tag.Image
	case ev.Type == trace.BuildEnd && ev.BuildEndInfo != nil && ev.BuildEndInfo.Error == "":
		return ev.BuildEndInfo.Image
	}
	return ""
}

// contextPath checks the dockerfile parameter: a path inside the context.
// The daemon must never read a file of its own host for a client.
func contextPath(p string) (string, error) {
	if p == "" {
		return "Dockerfile", nil
	}
	clean := filepath.Clean(filepath.FromSlash(p))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", badRequestf("the Dockerfile (%s) must be within the build context", p)
	}
	return clean, nil
}

// unpackContext reads the context tar from body into dir, safely: no path
// may leave dir, and what the tar holds once decompressed is bounded in
// bytes and entries (a tar bomb is refused before it fills the disk).
func (s *Server) unpackContext(ctx context.Context, dir string, body io.Reader) error {
	limited := http.MaxBytesReader(nil, io.NopCloser(body), s.opts.MaxBuildContext)
	rd, closeFn, err := decompress(limited)
	if err != nil {
		return err
	}
	defer closeFn()
	checked := limitTar(rd, s.opts.MaxBuildContext, s.opts.MaxBuildContextFiles)
	defer checked.Close()
	if _, err := layer.Apply(ctx, dir, checked, layer.ApplyOptions{Whiteouts: layer.WhiteoutDelete}); err != nil {
		var tooLarge *http.MaxBytesError
		var overLimit *errContextLimit
		switch {
		case errors.As(err, &overLimit):
			return &apiError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("the build context is larger than this daemon accepts: it holds %s (the limits are %s and %d files): exclude files with .dockerignore, or start berth daemon with a larger --max-build-context or --max-build-context-files",
					overLimit.what, trace.HumanSize(s.opts.MaxBuildContext), s.opts.MaxBuildContextFiles)}
		case errors.As(err, &tooLarge):
			return &apiError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("the build context is larger than this daemon accepts (%s): exclude files with .dockerignore, or start berth daemon with a larger --max-build-context", trace.HumanSize(s.opts.MaxBuildContext))}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errdefs.WithClass(fmt.Errorf("unpack the build context: %w", err), errdefs.InvalidParameter)
	}
	return nil
}

// decompress returns the tar inside r, which may be plain or compressed
// with gzip, bzip2 or zstd, as Docker accepts contexts.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(4)
	nothing := func() {}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nothing, badRequestf("build context: %v", err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nothing, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nothing, badRequestf("build context: %v", err)
		}
		return zr, zr.Close, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X'}):
		return nil, nothing, badRequestf("build context: xz compression is not supported: send a plain or gzip tar")
	}
	return br, nothing, nil
}

// buildRecorder passes on the events of one build: the one whose
// build.start names this request's context directory. Several builds run
// at once, and the engine sends every recorder every event.
type buildRecorder struct {
	contextDir string
	build      atomic.Pointer[string]
	queue      *eventQueue
	cancel     context.CancelCauseFunc
}

func (r *buildRecorder) Record(ev trace.Event) {
	if ev.Build == "" {
		return
	}
	id := r.build.Load()
	if id == nil {
		if ev.Type != trace.BuildStart || ev.BuildStartInfo == nil || ev.BuildStartInfo.Context != r.contextDir {
			return
		}
		build := ev.Build
		r.build.Store(&build)
	} else if *id != ev.Build {
		return
	}
	if !r.queue.push(ev) {
		r.cancel(errors.New("the client is not reading the build output: build stopped"))
	}
}
