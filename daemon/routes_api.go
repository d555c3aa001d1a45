package daemon

import "strings"

// routeAPI routes the endpoints of events, system df, swarm, container
// archive, export, rename, stats and update, distribution and auth. It
// reports allowed for a known path asked with another method.
func (s *Server) routeAPI(method, path string) (fn handler, name string, allowed bool) {
	fixed := map[string]map[string]handler{
		"/events":    {"GET": s.systemEvents},
		"/system/df": {"GET": s.systemDF},
		"/auth":      {"POST": s.auth},
	}
	if byMethod, ok := fixed[path]; ok {
		return pickMethod(byMethod, method, "")
	}
	if rest, ok := strings.CutPrefix(path, "/distribution/"); ok {
		if name, ok := strings.CutSuffix(rest, "/json"); ok && name != "" {
			return pickMethod(map[string]handler{"GET": s.distributionInspect}, method, name)
		}
		return nil, "", false
	}
	if isSwarmPath(path) {
		return s.swarmUnavailable, "", true
	}
	rest, ok := strings.CutPrefix(path, "/containers/")
	if !ok {
		return nil, "", false
	}
	id, action, _ := strings.Cut(rest, "/")
	if id == "" {
		return nil, "", false
	}
	actions := map[string]map[string]handler{
		"rename": {"POST": s.containerRename},
		"stats":  {"GET": s.containerStats},
		"update": {"POST": s.containerUpdate},
		"export": {"GET": s.containerExport},
		"archive": {
			"GET": s.containerArchiveGet, "HEAD": s.containerArchiveStat, "PUT": s.containerArchivePut,
		},
	}
	if byMethod, ok := actions[action]; ok {
		return pickMethod(byMethod, method, id)
	}
	return nil, "", false
}

// pickMethod picks the handler for method; GET serves HEAD unless HEAD has
// its own.
func pickMethod(byMethod map[string]handler, method, name string) (handler, string, bool) {
	if fn, ok := byMethod[method]; ok {
		return fn, name, true
	}
	if fn, ok := byMethod["GET"]; ok && method == "HEAD" {
		return fn, name, true
	}
	return nil, "", true
}
