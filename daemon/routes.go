package daemon

import "strings"

// route is one endpoint of the Engine API: a method, a path pattern
// (without the optional /v1.xx prefix, which ServeHTTP strips) and the
// handler that serves it.
//
// In a pattern, {id} stands for one path segment and {name...} for one or
// more, slashes included (an image name: /images/library/alpine/json);
// what it matched is the request's name. A pattern holds at most one of
// them. The method "*" answers every method.
type route struct {
	method  string
	pattern string
	serve   func(*Server, *responseWriter, *request) error
}

// routes is every endpoint the daemon answers, one row each: adding one is
// its handler, in the file of its kind, and a row here. docs/compat.md
// tells users the same list; TestCompatEndpoints keeps the two in step.
var routes = []route{
	{"GET", "/_ping", (*Server).ping},
	{"GET", "/version", (*Server).version},
	{"GET", "/info", (*Server).info},
	{"GET", "/events", (*Server).systemEvents},
	{"GET", "/system/df", (*Server).systemDF},
	{"POST", "/auth", (*Server).auth},
	{"GET", "/berth/trace", (*Server).traceFollow},

	{"POST", "/build", (*Server).build},
	{"POST", "/commit", (*Server).commit},

	{"GET", "/images/json", (*Server).imageList},
	{"POST", "/images/create", (*Server).imageCreate},
	{"POST", "/images/load", (*Server).imageLoad},
	{"GET", "/images/get", (*Server).imageSaveMany},
	{"POST", "/images/prune", (*Server).imagePrune},
	{"GET", "/images/{name...}/json", (*Server).imageInspect},
	{"GET", "/images/{name...}/history", (*Server).imageHistory},
	{"POST", "/images/{name...}/tag", (*Server).imageTag},
	{"POST", "/images/{name...}/push", (*Server).imagePush},
	{"GET", "/images/{name...}/get", (*Server).imageSaveOne},
	{"DELETE", "/images/{name...}", (*Server).imageDelete},
	{"GET", "/distribution/{name...}/json", (*Server).distributionInspect},

	{"GET", "/containers/json", (*Server).containerList},
	{"POST", "/containers/create", (*Server).containerCreate},
	{"POST", "/containers/prune", (*Server).containerPrune},
	{"DELETE", "/containers/{id}", (*Server).containerDelete},
	{"GET", "/containers/{id}/json", (*Server).containerInspect},
	{"POST", "/containers/{id}/start", (*Server).containerStart},
	{"POST", "/containers/{id}/stop", (*Server).containerStop},
	{"POST", "/containers/{id}/restart", (*Server).containerRestart},
	{"POST", "/containers/{id}/kill", (*Server).containerKill},
	{"POST", "/containers/{id}/wait", (*Server).containerWait},
	{"POST", "/containers/{id}/attach", (*Server).containerAttach},
	{"POST", "/containers/{id}/resize", (*Server).containerResize},
	{"GET", "/containers/{id}/logs", (*Server).containerLogs},
	{"POST", "/containers/{id}/pause", (*Server).containerPause},
	{"POST", "/containers/{id}/unpause", (*Server).containerUnpause},
	{"GET", "/containers/{id}/top", (*Server).containerTop},
	{"GET", "/containers/{id}/changes", (*Server).containerChanges},
	{"POST", "/containers/{id}/rename", (*Server).containerRename},
	{"GET", "/containers/{id}/stats", (*Server).containerStats},
	{"POST", "/containers/{id}/update", (*Server).containerUpdate},
	{"GET", "/containers/{id}/export", (*Server).containerExport},
	{"GET", "/containers/{id}/archive", (*Server).containerArchiveGet},
	{"HEAD", "/containers/{id}/archive", (*Server).containerArchiveStat},
	{"PUT", "/containers/{id}/archive", (*Server).containerArchivePut},

	{"POST", "/containers/{id}/exec", (*Server).execCreate},
	{"POST", "/exec/{id}/start", (*Server).execStart},
	{"POST", "/exec/{id}/resize", (*Server).execResize},
	{"GET", "/exec/{id}/json", (*Server).execInspect},

	{"GET", "/volumes", (*Server).volumeList},
	{"POST", "/volumes/create", (*Server).volumeCreate},
	{"POST", "/volumes/prune", (*Server).volumePrune},
	{"GET", "/volumes/{name}", (*Server).volumeInspect},
	{"DELETE", "/volumes/{name}", (*Server).volumeDelete},

	{"GET", "/networks", (*Server).networkList},
	{"POST", "/networks/create", (*Server).networkCreate},
	{"POST", "/networks/prune", (*Server).networkPrune},
	{"GET", "/networks/{id}", (*Server).networkInspect},
	{"DELETE", "/networks/{id}", (*Server).networkDelete},
	{"POST", "/networks/{id}/connect", (*Server).networkConnect},
	{"POST", "/networks/{id}/disconnect", (*Server).networkDisconnect},

	// No swarm mode: dockerd's 503 on every swarm endpoint (swarm.go).
	{"*", "/swarm", (*Server).swarmUnavailable}, {"*", "/swarm/{path...}", (*Server).swarmUnavailable},
	{"*", "/nodes", (*Server).swarmUnavailable}, {"*", "/nodes/{path...}", (*Server).swarmUnavailable},
	{"*", "/services", (*Server).swarmUnavailable}, {"*", "/services/{path...}", (*Server).swarmUnavailable},
	{"*", "/tasks", (*Server).swarmUnavailable}, {"*", "/tasks/{path...}", (*Server).swarmUnavailable},
	{"*", "/secrets", (*Server).swarmUnavailable}, {"*", "/secrets/{path...}", (*Server).swarmUnavailable},
	{"*", "/configs", (*Server).swarmUnavailable}, {"*", "/configs/{path...}", (*Server).swarmUnavailable},
}

// matchRoute finds the row for a method and a path without version prefix,
// as Docker's router does. A path that equals a pattern without parameters
// is decided by those rows alone (DELETE /images/json is not the image
// "json"). GET answers HEAD unless the path has a HEAD row of its own.
// allowed reports a path some row matches for another method, which is a
// 405 rather than a 404.
func matchRoute(method, path string) (rt *route, name string, allowed bool) {
	for _, literal := range []bool{true, false} {
		var get *route
		var getName string
		for i := range routes {
			r := &routes[i]
			if r.literal() != literal {
				continue
			}
			n, ok := r.match(path)
			if !ok {
				continue
			}
			allowed = true
			switch {
			case r.method == method || r.method == "*":
				return r, n, true
			case r.method == "GET" && method == "HEAD" && get == nil:
				get, getName = r, n
			}
		}
		if get != nil {
			return get, getName, true
		}
		if allowed {
			return nil, "", true
		}
	}
	return nil, "", false
}

// literal reports a pattern without parameters.
func (r *route) literal() bool {
	return !strings.Contains(r.pattern, "{")
}

// match reports whether path fits the pattern, and what its parameter
// matched.
func (r *route) match(path string) (name string, ok bool) {
	open := strings.IndexByte(r.pattern, '{')
	if open < 0 {
		return "", path == r.pattern
	}
	end := open + strings.IndexByte(r.pattern[open:], '}')
	prefix, param, suffix := r.pattern[:open], r.pattern[open+1:end], r.pattern[end+1:]
	if len(path) <= len(prefix)+len(suffix) || !strings.HasPrefix(path, prefix) || !strings.HasSuffix(path, suffix) {
		return "", false
	}
	name = path[len(prefix) : len(path)-len(suffix)]
	if !strings.HasSuffix(param, "...") && strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}
