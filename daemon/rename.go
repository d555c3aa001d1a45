package daemon

import (
	"net/http"

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
