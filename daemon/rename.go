package daemon

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// containerRename is POST /containers/{id}/rename?name=.
func (s *Server) containerRename(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	oldName := c.Name
	if err := s.eng.RenameContainer(r.Context(), c.ID, r.URL.Query().Get("name")); err != nil {
		return err
	}
	s.emitContainer(events.ActionRename, c.ID, map[string]string{"oldName": "/" + oldName})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// configChanges turns the config a commit request carries (docker-py's
// conf=) into the Dockerfile instructions the engine applies; the
// request's changes come after them, so they win.
func configChanges(cfg *container.Config) []string {
	var out []string
	quote := func(v any) string {
		data, _ := json.Marshal(v)
		return string(data)
	}
	if len(cfg.Cmd) > 0 {
		out = append(out, "CMD "+quote([]string(cfg.Cmd)))
	}
	if len(cfg.Entrypoint) > 0 {
		out = append(out, "ENTRYPOINT "+quote([]string(cfg.Entrypoint)))
	}
	for _, kv := range cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			out = append(out, "ENV "+k+"="+quote(v))
		}
	}
	if cfg.WorkingDir != "" {
		out = append(out, "WORKDIR "+cfg.WorkingDir)
	}
	if cfg.User != "" {
		out = append(out, "USER "+cfg.User)
	}
	keys := make([]string, 0, len(cfg.Labels))
	for k := range cfg.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, "LABEL "+quote(k)+"="+quote(cfg.Labels[k]))
	}
	return out
}

// killSignal is the signal number a kill event names (Docker's "signal"
// attribute), SIGKILL when none was given.
func killSignal(sig string) string {
	if sig == "" {
		return "9"
	}
	n, err := engine.ParseSignal(sig)
	if err != nil {
		return sig
	}
	return strconv.Itoa(int(n))
}
