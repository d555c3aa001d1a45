package daemon

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine"
)

// fuzzServer is a daemon on a fresh, empty store, called directly through
// ServeHTTP: without net/http's per-connection recovery, a panic in a
// handler fails the fuzz target instead of being logged.
func fuzzServer(f *testing.F) *Server {
	f.Helper()
	eng, err := engine.Open(f.TempDir(), engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	srv := New(eng, Options{})
	f.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		eng.Close()
	})
	return srv
}

// FuzzContainerCreate sends arbitrary JSON bodies and names to POST
// /containers/create, as `docker create` would: the store has no image, so
// nothing is ever created, but every byte goes through the request's
// decoding and createOptions. No input may panic or answer 500.
func FuzzContainerCreate(f *testing.F) {
	for _, seed := range []string{
		`{"Image":"busybox","Cmd":["true"]}`,
		`{"Image":"busybox","Cmd":["sh"],"Tty":true,"OpenStdin":true,"HostConfig":{"Memory":1048576,"PidsLimit":-1,"NetworkMode":"none","CapAdd":["ALL"],"Binds":["/a:/b:ro"],"PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"RestartPolicy":{"Name":"always"}}}`,
		`{"Image":"x","Env":["A=1","=",""],"Entrypoint":[],"Healthcheck":{"Test":["NONE"]},"ExposedPorts":{"99999/xyz":{}},"Volumes":{"/v":{}},"StopTimeout":-5}`,
		`{"Image":"x","HostConfig":{"NanoCpus":-1,"CpuShares":-3,"Ulimits":[{"Name":"nofile","Soft":-1,"Hard":1}],"Devices":[{"PathOnHost":"/dev/null"}],"Init":true}}`,
		`{}`, `null`, `{"Image":null,"HostConfig":null,"NetworkingConfig":{"EndpointsConfig":{"n":null}}}`,
	} {
		f.Add([]byte(seed), "box")
	}
	srv := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte, name string) {
		target := "/containers/create?" + url.Values{"name": {name}}.Encode()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		srv.ServeHTTP(rec, req)
		if rec.Code == http.StatusCreated || rec.Code >= 500 {
			t.Fatalf("create answered %d: %s", rec.Code, rec.Body.String())
		}
	})
}

// FuzzBuildQuery sends arbitrary query strings to POST /build with a body
// that is no build context, so every parameter (t, buildargs, labels,
// dockerfile, networkmode, platform, ...) is parsed and nothing is built.
// No input may panic or answer 500.
func FuzzBuildQuery(f *testing.F) {
	for _, seed := range []string{
		"t=app:1&t=app:latest&q=1&rm=0&forcerm=1&nocache=true",
		`buildargs={"A":"1","B":null}&labels={"k":"v"}`,
		`buildargs=["x"]&labels=7`,
		"dockerfile=../../etc/passwd&networkmode=bridge",
		"version=2", "remote=https://example.invalid/x.git", "platform=linux/arm64/v8&target=build",
		"filters=%7B%7D&t=%00",
	} {
		f.Add(seed)
	}
	srv := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		rec := httptest.NewRecorder()
		req, err := http.NewRequest(http.MethodPost, "/build?"+query, strings.NewReader("not a tar"))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Content-Type", "application/x-tar")
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("build answered %d: %s", rec.Code, rec.Body.String())
		}
	})
}
