package daemon

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// pathStatHeader is how Docker sends a path's stat with an archive.
const pathStatHeader = "X-Docker-Container-Path-Stat"

func setPathStat(w *responseWriter, ps *engine.PathStat) error {
	data, err := json.Marshal(container.PathStat{
		Name: ps.Name, Size: ps.Size, Mode: ps.Mode, Mtime: ps.Mtime, LinkTarget: ps.LinkTarget,
	})
	if err != nil {
		return err
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(data))
	return nil
}

func archivePath(r *request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", badRequestf("path must not be empty")
	}
	return p, nil
}

// archiveTarget is the container and the path an archive request names,
// the path checked first as dockerd does.
func (s *Server) archiveTarget(r *request) (*store.Container, string, error) {
	p, err := archivePath(r)
	if err != nil {
		return nil, "", err
	}
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return nil, "", err
	}
	return c, p, nil
}

// archiveError gives a path that is not there Docker's 404.
func archiveError(err error) error {
	if errors.Is(err, engine.ErrPathNotFound) {
		return errdefs.WithClass(err, errdefs.NotFound)
	}
	return err
}

// containerArchiveStat is HEAD /containers/{id}/archive?path=: the stat
// alone (docker cp asks it first).
func (s *Server) containerArchiveStat(w *responseWriter, r *request) error {
	c, p, err := s.archiveTarget(r)
	if err != nil {
		return err
	}
	ps, err := s.eng.StatContainerPath(r.Context(), c.ID, p)
	if err != nil {
		return archiveError(err)
	}
	if err := setPathStat(w, ps); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// containerArchiveGet is GET /containers/{id}/archive?path=: a tar of the
// path, its stat in the header.
func (s *Server) containerArchiveGet(w *responseWriter, r *request) error {
	c, p, err := s.archiveTarget(r)
	if err != nil {
		return err
	}
	err = s.eng.CopyFromContainer(r.Context(), c.ID, p, func(ps *engine.PathStat) error {
		if err := setPathStat(w, ps); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
		return nil
	}, w)
	return archiveError(err)
}

// containerArchivePut is PUT /containers/{id}/archive?path=: the tar body
// unpacked into that directory.
func (s *Server) containerArchivePut(w *responseWriter, r *request) error {
	c, p, err := s.archiveTarget(r)
	if err != nil {
		return err
	}
	opts := engine.CopyToOptions{
		CopyUIDGID:           boolValue(r, "copyUIDGID", false),
		NoOverwriteDirNonDir: boolValue(r, "noOverwriteDirNonDir", false),
	}
	if err := s.eng.CopyToContainer(r.Context(), c.ID, p, r.Body, opts); err != nil {
		return archiveError(err)
	}
	s.emitContainer(events.Action("extract-to-dir"), c.ID, nil)
	w.WriteHeader(http.StatusOK)
	return nil
}

// containerExport is GET /containers/{id}/export: its file system as a
// tar, without what is mounted into it.
func (s *Server) containerExport(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	if err := s.eng.ExportContainer(r.Context(), c.ID, w); err != nil {
		return err
	}
	s.emitContainer(events.ActionExport, c.ID, nil)
	return nil
}
