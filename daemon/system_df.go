package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/volume"
)

// systemDF is GET /system/df in the form API 1.24-1.51 clients read (the
// docker CLI sums it up): every image, container (with sizes) and volume,
// and the size of all layers.
func (s *Server) systemDF(w *responseWriter, r *request) error {
	ctx := r.Context()
	du, err := s.eng.DiskUsage(ctx)
	if err != nil {
		return err
	}
	images, err := s.subRequest(r, s.imageList, "/images/json")
	if err != nil {
		return err
	}
	ctrs, err := s.subRequest(r, s.containerList, "/containers/json?all=1&size=1")
	if err != nil {
		return err
	}
	vols, err := s.eng.Volumes(ctx)
	if err != nil {
		return err
	}
	volumes := []volume.Volume{}
	for _, v := range vols {
		view := volumeView(v)
		users, _ := s.eng.VolumeUsers(v.Name)
		view.UsageData = &volume.UsageData{Size: s.eng.VolumeSize(v.Name), RefCount: int64(len(users))}
		volumes = append(volumes, view)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"LayersSize": du.ImagesSize,
		"Images":     images,
		"Containers": ctrs,
		"Volumes":    volumes,
		"BuildCache": []any{},
	})
}

// subRequest runs a list handler of this server and returns its JSON, so
// that /system/df lists exactly what /images/json and /containers/json do.
func (s *Server) subRequest(r *request, h handler, target string) (json.RawMessage, error) {
	hr, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	var rec bufferedResponse
	w := &responseWriter{ResponseWriter: &rec}
	if err := h(w, &request{Request: hr, version: r.version}); err != nil {
		return nil, err
	}
	if w.wrote && w.status != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", target, w.status, rec.body.String())
	}
	return json.RawMessage(rec.body.Bytes()), nil
}

// bufferedResponse is the http.ResponseWriter of a sub-request: it keeps
// the body (responseWriter keeps the status). It stands in for
// net/http/httptest's recorder, whose package, once linked, builds a test
// certificate and registers a test flag at the start of every berth process.
type bufferedResponse struct {
	header http.Header
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}

func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedResponse) WriteHeader(int) {}
