package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/moby/moby/api/types/image"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/errdefs"
)

// imageList is GET /images/json: one summary per image with the names that
// passed the filters, newest first, intermediate images only with all=1.
// The old filter=REPOSITORY[:TAG] parameter is docker images' positional
// argument, as before API 1.41.
func (s *Server) imageList(w *responseWriter, r *request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	rows, err := s.eng.ListImages(r.Context(), engine.ListImagesOptions{
		All: boolValue(r, "all", false), Filters: filters, Reference: r.URL.Query().Get("filter"),
	})
	if err != nil {
		return badRequestIfFilter(err)
	}
	out := []api.ImageSummary{}
	index := map[string]int{}
	for _, row := range rows {
		img := row.Image
		id := img.ID.String()
		i, ok := index[id]
		if !ok {
			labels := orEmptyMap(img.Labels)
			sum := api.ImageSummary{Summary: image.Summary{
				ID:          id,
				ParentID:    img.Parent.String(),
				RepoTags:    []string{},
				RepoDigests: []string{},
				Created:     img.Created().Unix(),
				Size:        img.Size,
				SharedSize:  -1,
				Labels:      labels,
				Containers:  int64(row.Containers),
			}}
			if created := img.Created(); !created.IsZero() {
				sum.BerthCreated = created.UTC().Format(time.RFC3339Nano)
			}
			out = append(out, sum)
			i = len(out) - 1
			index[id] = i
		}
		if row.Repository == "<none>" {
			continue
		}
		sum := &out[i]
		sum.RepoTags = append(sum.RepoTags, row.Repository+":"+row.Tag)
		if row.Digest != "" {
			d := row.Repository + "@" + row.Digest.String()
			if !contains(sum.RepoDigests, d) {
				sum.RepoDigests = append(sum.RepoDigests, d)
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// badRequestIfFilter turns the engine's filter errors into 400s.
func badRequestIfFilter(err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, "invalid filter") || strings.HasPrefix(msg, "bad format of filter") || strings.HasPrefix(msg, "invalid reference format") {
		return errdefs.WithClass(err, errdefs.InvalidParameter)
	}
	return err
}

// imageInspect is GET /images/{name}/json.
func (s *Server) imageInspect(w *responseWriter, r *request) error {
	img, err := s.eng.InspectImage(r.Context(), r.name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, img)
}

// imageHistory is GET /images/{name}/history, newest first.
func (s *Server) imageHistory(w *responseWriter, r *request) error {
	items, err := s.eng.ImageHistory(r.Context(), r.name)
	if err != nil {
		return err
	}
	out := make([]image.HistoryResponseItem, 0, len(items))
	for _, it := range items {
		var created int64
		if !it.Created.IsZero() {
			created = it.Created.Unix()
		}
		out = append(out, image.HistoryResponseItem{ID: it.ID, Created: created, CreatedBy: it.CreatedBy, Tags: orEmpty(it.Tags), Size: it.Size, Comment: it.Comment})
	}
	return writeJSON(w, http.StatusOK, out)
}

// imageTag is POST /images/{name}/tag?repo=&tag=.
func (s *Server) imageTag(w *responseWriter, r *request) error {
	repo, tag := r.URL.Query().Get("repo"), r.URL.Query().Get("tag")
	if repo == "" {
		return badRequestf("repository name must have at least one component")
	}
	target := repo
	if tag != "" {
		target = repo + ":" + tag
	}
	if _, err := s.eng.TagImage(r.Context(), r.name, target); err != nil {
		return invalidUnlessKnown(err)
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// imageDelete is DELETE /images/{name}?force=&noprune=.
func (s *Server) imageDelete(w *responseWriter, r *request) error {
	records, err := s.eng.RemoveImage(r.Context(), r.name, engine.RemoveImageOptions{
		Force: boolValue(r, "force", false), NoPrune: boolValue(r, "noprune", false),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deleteResponses(records))
}

func deleteResponses(records []engine.RemoveRecord) []image.DeleteResponse {
	out := []image.DeleteResponse{}
	for _, rec := range records {
		if rec.Untagged != "" {
			out = append(out, image.DeleteResponse{Untagged: rec.Untagged})
		}
		if rec.Deleted != "" {
			out = append(out, image.DeleteResponse{Deleted: rec.Deleted})
		}
	}
	return out
}

// imagePrune is POST /images/prune; filter dangling=false prunes every
// unused image.
func (s *Server) imagePrune(w *responseWriter, r *request) error {
	all, err := pruneFilter(r, "dangling", false, "invalid filter '%s': berth prunes by dangling only")
	if err != nil {
		return err
	}
	report, err := s.eng.PruneImages(r.Context(), engine.PruneImagesOptions{All: all})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, image.PruneReport{ImagesDeleted: deleteResponses(report.Records), SpaceReclaimed: uint64(report.Reclaimed)})
}

// pullName joins fromImage and tag as Docker's daemon does; tag may be a
// digest.
func pullName(from, tag string) string {
	switch {
	case tag == "":
		return from
	case strings.HasPrefix(tag, "sha256:"):
		return from + "@" + tag
	}
	return from + ":" + tag
}

// imageCreate is POST /images/create?fromImage=&tag=: a pull, with the
// engine's progress lines as JSON status messages. Credentials come from
// X-Registry-Auth, else the daemon's own (berth login as its user).
func (s *Server) imageCreate(w *responseWriter, r *request) error {
	q := r.URL.Query()
	from := q.Get("fromImage")
	if from == "" {
		if q.Get("fromSrc") != "" {
			return classedf(errdefs.NotImplemented, "importing a root filesystem is not supported by berth daemon: use berth import")
		}
		return badRequestf("fromImage is required")
	}
	name := pullName(from, q.Get("tag"))
	keychain, err := registryAuth(r)
	if err != nil {
		return err
	}
	return withProgress(w, func(progress *progressWriter) error {
		_, err := s.eng.Pull(r.Context(), name, engine.PullOptions{Platform: q.Get("platform"), Progress: progress, Keychain: keychain})
		return err
	})
}

// imagePush is POST /images/{name}/push?tag=.
func (s *Server) imagePush(w *responseWriter, r *request) error {
	name := r.name
	if tag := r.URL.Query().Get("tag"); tag != "" {
		name += ":" + tag
	}
	keychain, err := registryAuth(r)
	if err != nil {
		return err
	}
	return withProgress(w, func(progress *progressWriter) error {
		return s.eng.Push(r.Context(), name, engine.PushOptions{Progress: progress, Keychain: keychain})
	})
}

// withProgress runs a transfer with the registry that reports its layers'
// progress, streamed as docker pull and push show it. An error before the
// stream started is the response; one after ends the stream, as dockerd's
// errorDetail.
func withProgress(w *responseWriter, transfer func(*progressWriter) error) error {
	stream := newJSONStream(w)
	progress := &progressWriter{s: stream}
	err := transfer(progress)
	progress.Flush()
	if err == nil || !stream.started() {
		return err
	}
	return stream.sendError(err, 0, 0)
}

// imageSaveOne is GET /images/{name}/get.
func (s *Server) imageSaveOne(w *responseWriter, r *request) error {
	return s.save(w, r, []string{r.name})
}

// imageSaveMany is GET /images/get?names=a&names=b.
func (s *Server) imageSaveMany(w *responseWriter, r *request) error {
	names := r.URL.Query()["names"]
	if len(names) == 0 {
		return badRequestf("name at least one image to save")
	}
	return s.save(w, r, names)
}

// save writes the archive (OCI layout and docker-archive at once). A
// failure once the tar started cuts the connection, so the client sees a
// truncated transfer and never a complete-looking archive.
func (s *Server) save(w *responseWriter, r *request, names []string) error {
	w.Header().Set("Content-Type", "application/x-tar")
	err := s.eng.Save(r.Context(), w, names)
	if err != nil && w.wrote {
		s.logf("save %s: %v", strings.Join(names, " "), err)
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		w.Header().Del("Content-Type")
	}
	return err
}

// imageLoad is POST /images/load: the archive in the body, "Loaded image:"
// lines as stream messages.
func (s *Server) imageLoad(w *responseWriter, r *request) error {
	body := http.MaxBytesReader(nil, r.Body, s.opts.MaxLoad)
	loaded, err := s.eng.Load(r.Context(), body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &apiError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("the archive is larger than this daemon accepts (%d bytes): start berth daemon with a larger --max-load", s.opts.MaxLoad)}
		}
		// As dockerd: the load answers 200 and says what is wrong with
		// the archive in the stream, where docker load prints it.
		if r.Context().Err() != nil {
			return err
		}
		return newJSONStream(w).sendError(err, 0, 0)
	}
	stream := newJSONStream(w)
	for _, l := range loaded {
		if l.Replaced != "" {
			if err := stream.send(api.Message{Stream: fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string\n", l.Ref, l.Replaced)}); err != nil {
				return err
			}
		}
		line := fmt.Sprintf("Loaded image ID: %s\n", l.ID)
		if l.Ref != "" {
			line = fmt.Sprintf("Loaded image: %s\n", l.Ref)
		}
		if err := stream.send(api.Message{Stream: line}); err != nil {
			return err
		}
	}
	if !stream.started() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
	}
	return nil
}
