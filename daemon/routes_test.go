package daemon

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// handlerName is the method name of a row's handler ("imageInspect").
func handlerName(rt *route) string {
	if rt == nil {
		return ""
	}
	full := runtime.FuncForPC(reflect.ValueOf(rt.serve).Pointer()).Name()
	return full[strings.LastIndex(full, ".")+1:]
}

// TestRoutesTable keeps the table well formed: a known method, a pattern
// with at most one parameter that closes, and no row twice.
func TestRoutesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.method + " " + rt.pattern
		require.False(t, seen[key], "%s is in the table twice", key)
		seen[key] = true
		require.Contains(t, []string{"GET", "HEAD", "POST", "PUT", "DELETE", "*"}, rt.method, key)
		require.True(t, strings.HasPrefix(rt.pattern, "/"), key)
		require.LessOrEqual(t, strings.Count(rt.pattern, "{"), 1, "%s: one parameter at most", key)
		require.Equal(t, strings.Count(rt.pattern, "{"), strings.Count(rt.pattern, "}"), key)
		if open := strings.IndexByte(rt.pattern, '{'); open >= 0 {
			require.Less(t, open, strings.IndexByte(rt.pattern, '}'), key)
		}
		require.NotNil(t, rt.serve, key)
	}
}

// TestMatchRoute covers Docker's routing rules: parameters, names with
// slashes, literal paths before parameters, HEAD served by GET, 405 for a
// known path asked with another method, 404 for the rest, swarm's 503.
func TestMatchRoute(t *testing.T) {
	cases := []struct {
		method, path string
		handler      string // "" when no row serves it
		name         string
		allowed      bool
	}{
		{"GET", "/_ping", "ping", "", true},
		{"HEAD", "/_ping", "ping", "", true},
		{"POST", "/_ping", "", "", true},
		{"DELETE", "/build", "", "", true},
		{"GET", "/nothing/here", "", "", false},
		{"GET", "/images/json", "imageList", "", true},
		{"DELETE", "/images/json", "", "", true},
		{"GET", "/images/library/alpine:3.20/json", "imageInspect", "library/alpine:3.20", true},
		{"GET", "/images/registry.example:5000/a/b/history", "imageHistory", "registry.example:5000/a/b", true},
		{"POST", "/images/busybox/tag", "imageTag", "busybox", true},
		{"GET", "/images/busybox/get", "imageSaveOne", "busybox", true},
		{"DELETE", "/images/library/busybox", "imageDelete", "library/busybox", true},
		{"DELETE", "/images/x/json", "imageDelete", "x/json", true},
		{"GET", "/images/search", "", "", true}, // only DELETE /images/{name...} fits
		{"POST", "/images/x/json", "", "", true},
		{"GET", "/distribution/docker.io/library/alpine/json", "distributionInspect", "docker.io/library/alpine", true},
		{"GET", "/distribution/x", "", "", false},
		{"GET", "/containers/json", "containerList", "", true},
		{"DELETE", "/containers/create", "", "", true},
		{"GET", "/containers/json/json", "containerInspect", "json", true},
		{"DELETE", "/containers/abc", "containerDelete", "abc", true},
		{"GET", "/containers/abc", "", "", true},
		{"GET", "/containers/abc/", "", "", false},
		{"GET", "/containers//json", "", "", false},
		{"GET", "/containers/abc/json/x", "", "", false},
		{"GET", "/containers/abc/archive", "containerArchiveGet", "abc", true},
		{"HEAD", "/containers/abc/archive", "containerArchiveStat", "abc", true},
		{"PUT", "/containers/abc/archive", "containerArchivePut", "abc", true},
		{"POST", "/containers/abc/archive", "", "", true},
		{"HEAD", "/containers/abc/stats", "containerStats", "abc", true},
		{"POST", "/exec/e1/start", "execStart", "e1", true},
		{"POST", "/exec/e1", "", "", false},
		{"GET", "/volumes/v1", "volumeInspect", "v1", true},
		{"PUT", "/volumes/v1", "", "", true},
		{"GET", "/volumes/v1/x", "", "", false},
		{"GET", "/volumes/create", "", "", true},
		{"GET", "/networks/n1", "networkInspect", "n1", true},
		{"DELETE", "/networks/n1", "networkDelete", "n1", true},
		{"POST", "/networks/n1/connect", "networkConnect", "n1", true},
		{"GET", "/networks/n1/connect", "", "", true},
		{"GET", "/networks/", "", "", false},
		{"GET", "/swarm", "swarmUnavailable", "", true},
		{"POST", "/swarm/init", "swarmUnavailable", "init", true},
		{"DELETE", "/services/s1", "swarmUnavailable", "s1", true},
		{"GET", "/swarmy", "", "", false},
		{"GET", "/plugins", "", "", false},
	}
	for _, c := range cases {
		rt, name, allowed := matchRoute(c.method, c.path)
		require.Equal(t, c.handler, handlerName(rt), "%s %s", c.method, c.path)
		require.Equal(t, c.name, name, "%s %s", c.method, c.path)
		require.Equal(t, c.allowed, allowed, "%s %s", c.method, c.path)
	}
}
