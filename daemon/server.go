package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/internal/lazyre"
)

// Limits on request bodies unless Options say otherwise.
const (
	DefaultMaxBuildContext = 2 << 30 // POST /build, in bytes once decompressed
	// DefaultMaxBuildContextFiles bounds the entries of a build context.
	DefaultMaxBuildContextFiles = 1_000_000
	DefaultMaxLoad              = 16 << 30 // POST /images/load
	DefaultMaxJSON              = 1 << 20  // every JSON request body
)

// Options configure a Server.
type Options struct {
	// MaxBuildContext bounds the build context a client may send: the bytes
	// its files hold once decompressed, and the upload itself; 0 is
	// DefaultMaxBuildContext.
	MaxBuildContext int64
	// MaxBuildContextFiles bounds its entries; 0 is
	// DefaultMaxBuildContextFiles.
	MaxBuildContextFiles int64
	// MaxLoad bounds an image archive sent to POST /images/load; 0 is
	// DefaultMaxLoad.
	MaxLoad int64
	// MaxJSON bounds JSON request bodies; 0 is DefaultMaxJSON.
	MaxJSON int64
	// StopTimeout is how long Shutdown gives each running container after
	// its stop signal before SIGKILL; 0 is 10 seconds, as dockerd, and a
	// negative value kills at once.
	StopTimeout time.Duration
	// Log receives one line per request (berth daemon --debug prints
	// them); nil is silent.
	Log func(format string, args ...any)
	// ErrorLog receives what goes wrong outside any request (a container
	// that would not stop); nil is silent.
	ErrorLog func(format string, args ...any)
}

// Server serves the Engine API over an engine.
type Server struct {
	eng  *engine.Engine
	opts Options

	// ctx ends when the server shuts down; long requests (builds, attaches,
	// follows) end with it.
	ctx    context.Context
	cancel context.CancelFunc

	sup    *supervisor
	execs  *execTable
	events *eventHub
	health healthTable

	httpMu       sync.Mutex
	servers      []*http.Server
	shutdownOnce sync.Once
}

// New returns a server over eng. The engine stays the caller's to close,
// after Shutdown.
func New(eng *engine.Engine, opts Options) *Server {
	if opts.MaxBuildContext <= 0 {
		opts.MaxBuildContext = DefaultMaxBuildContext
	}
	if opts.MaxBuildContextFiles <= 0 {
		opts.MaxBuildContextFiles = DefaultMaxBuildContextFiles
	}
	if opts.MaxLoad <= 0 {
		opts.MaxLoad = DefaultMaxLoad
	}
	if opts.MaxJSON <= 0 {
		opts.MaxJSON = DefaultMaxJSON
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{eng: eng, opts: opts, ctx: ctx, cancel: cancel, execs: newExecTable()}
	s.sup = newSupervisor(s)
	s.events = newEventHub(s)
	go s.events.run(ctx)
	return s
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Log != nil {
		s.opts.Log(format, args...)
	}
}

func (s *Server) errorf(format string, args ...any) {
	if s.opts.ErrorLog != nil {
		s.opts.ErrorLog(format, args...)
	}
}

// Serve accepts connections on ln until ctx ends or Shutdown is called.
// It returns nil after a shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	s.httpMu.Lock()
	if s.ctx.Err() != nil {
		s.httpMu.Unlock()
		ln.Close()
		return nil
	}
	s.servers = append(s.servers, hs)
	s.httpMu.Unlock()
	s.sweepNetworks()
	stop := context.AfterFunc(ctx, func() { _ = s.Shutdown(context.Background()) })
	defer stop()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests, ends the long ones (builds are
// cancelled and clean up; attach and follow streams close), stops the
// containers the daemon supervises and waits for their exits to be
// recorded, so nothing stays mounted.
func (s *Server) Shutdown(ctx context.Context) error {
	s.httpMu.Lock()
	servers := s.servers
	s.servers = nil
	s.cancel()
	s.httpMu.Unlock()
	var first error
	for _, hs := range servers {
		// Builds and streams watch s.ctx, which is cancelled: give them a
		// moment to finish their cleanup before the connections go.
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := hs.Shutdown(sctx); err != nil && first == nil {
			first = err
			_ = hs.Close()
		}
		cancel()
	}
	// Several Serve calls may ask: the containers are stopped once, and
	// every caller returns after that.
	s.shutdownOnce.Do(func() {
		s.sup.shutdown(s.opts.StopTimeout)
		s.execs.closeAll()
	})
	return first
}

// versionPrefix matches /v1.50/... (Docker accepts any vX.Y prefix).
var versionPrefix = lazyre.New(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// compareVersions compares "1.24"-style versions numerically.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// request is what a handler gets: the request, the path's parameters and
// the API version it asked for.
type request struct {
	*http.Request
	name    string // {name} or {id} from the path
	version string
}

// handler serves one endpoint (a row of routes, routes.go). An error
// returned before anything was written becomes Docker's {"message": ...}
// with the matching status code.
type handler func(w *responseWriter, r *request) error

// ServeHTTP routes a request, as Docker's router does.
func (s *Server) ServeHTTP(hw http.ResponseWriter, hr *http.Request) {
	w := &responseWriter{ResponseWriter: hw}
	path := hr.URL.Path
	version := api.APIVersion
	if m := versionPrefix.FindStringSubmatch(path); m != nil {
		version, path = m[1], m[2]
	}
	h := w.Header()
	h.Set("Server", "Berth/"+engine.Version+" ("+runtime.GOOS+")")
	h.Set("Api-Version", api.APIVersion)
	h.Set("Docker-Experimental", "false")
	h.Set("Ostype", runtime.GOOS)
	start := time.Now()
	defer func() {
		s.logf("%s %s %d %s", hr.Method, hr.URL.RequestURI(), w.status, time.Since(start).Round(time.Millisecond))
	}()
	if compareVersions(version, api.APIVersion) > 0 {
		writeError(w, badRequestf("client version %s is too new. Maximum supported API version is %s", version, api.APIVersion))
		return
	}
	if compareVersions(version, api.MinAPIVersion) < 0 {
		writeError(w, badRequestf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, api.MinAPIVersion))
		return
	}
	rt, name, allowed := matchRoute(hr.Method, path)
	if rt == nil {
		if allowed {
			writeError(w, &apiError{status: http.StatusMethodNotAllowed, msg: "method not allowed"})
			return
		}
		writeError(w, notFoundf("page not found"))
		return
	}
	r := &request{Request: hr, name: name, version: version}
	if err := rt.serve(s, w, r); err != nil {
		if w.wrote {
			// The stream already started: the handler reported the error
			// in it, or the client went away.
			s.logf("%s %s: %v", hr.Method, path, err)
			return
		}
		writeError(w, err)
	}
}

// responseWriter remembers whether the response started and lets handlers
// flush and hijack.
type responseWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.status = http.StatusOK
		w.wrote = true
	}
	return w.ResponseWriter.Write(p)
}

// Flush sends what is buffered to the client.
func (w *responseWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack takes the connection over (attach and exec streams).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.wrote = true
	w.status = http.StatusSwitchingProtocols
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// writeJSON writes v with status.
func writeJSON(w *responseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// orEmpty is s, or an empty list for nil: Docker's responses hold [] where
// a list has nothing, never null, and clients index them.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// orEmptyMap is m, or an empty map for nil ({} rather than null).
func orEmptyMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// decodeJSON reads a JSON request body of at most limit bytes into v. An
// empty body leaves v as it is.
func decodeJSON(r *request, limit int64, v any) error {
	body := http.MaxBytesReader(nil, r.Body, limit)
	data, err := io.ReadAll(body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body larger than %d bytes", limit)}
		}
		return badRequestf("read request body: %v", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 || strings.TrimSpace(string(data)) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequestf("invalid JSON: %v", err)
	}
	return nil
}

// boolValue reads a query flag as Docker does: "", "0", "no", "false" and
// "none" are false, anything else true; def when absent.
func boolValue(r *request, key string, def bool) bool {
	if !r.URL.Query().Has(key) {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(key))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// intValue reads an integer query parameter, def when absent.
func intValue(r *request, key string, def int) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequestf("invalid value for %s: %q is not a number", key, v)
	}
	return n, nil
}

// pruneFilter reads the filters of a prune that takes one boolean filter,
// key: it reports whether any says key=want (true and 1, false and 0 say
// the same). Any other filter is refused with refusal, a format of one %s
// or %q verb for the filter.
func pruneFilter(r *request, key string, want bool, refusal string) (bool, error) {
	filters, err := filtersValue(r)
	if err != nil {
		return false, err
	}
	found := false
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		var on, known bool
		switch v {
		case "true", "1":
			on, known = true, true
		case "false", "0":
			known = true
		}
		if k != key || !known {
			return false, badRequestf(refusal, f)
		}
		found = found || on == want
	}
	return found, nil
}

// filtersValue decodes Docker's filters parameter: {"key":{"value":true}}
// (or the old {"key":["value"]}) into key=value strings.
func filtersValue(r *request) ([]string, error) {
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return nil, nil
	}
	var byMap map[string]map[string]bool
	var out []string
	if err := json.Unmarshal([]byte(raw), &byMap); err == nil {
		for k, vals := range byMap {
			for v, on := range vals {
				if on {
					out = append(out, k+"="+v)
				}
			}
		}
		return sortedStrings(out), nil
	}
	var byList map[string][]string
	if err := json.Unmarshal([]byte(raw), &byList); err != nil {
		return nil, badRequestf("invalid filter: %v", err)
	}
	for k, vals := range byList {
		for _, v := range vals {
			out = append(out, k+"="+v)
		}
	}
	return sortedStrings(out), nil
}
