package daemon

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// containerStats is GET /containers/{id}/stats: one sample a second while
// the container runs (stream=true, the default), or one answer
// (stream=false) whose precpu is a sample taken a second before, so that
// docker stats --no-stream has a CPU percentage (one-shot=true skips it).
func (s *Server) containerStats(w *responseWriter, r *request) error {
	ctx := r.Context()
	c, err := s.lookup(ctx, r.name)
	if err != nil {
		return err
	}
	stream := boolValue(r, "stream", true)
	oneShot := boolValue(r, "one-shot", false)
	if oneShot && stream {
		return badRequestf("cannot have stream=true and one-shot=true")
	}
	prev, err := s.eng.ContainerStats(ctx, c.ID)
	if err != nil {
		return err
	}
	name := "/" + c.Name
	if !stream {
		cur := prev
		if !oneShot && prev.Running {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			if cur, err = s.eng.ContainerStats(ctx, c.ID); err != nil {
				return err
			}
		}
		return writeJSON(w, http.StatusOK, statsResponse(c.ID, name, cur, prev))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	var last *engine.ContainerStats
	cur := prev
	for {
		if err := enc.Encode(statsResponse(c.ID, name, cur, last)); err != nil {
			return nil // the client went away
		}
		w.Flush()
		if !cur.Running {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		last = cur
		if cur, err = s.eng.ContainerStats(ctx, c.ID); err != nil {
			return nil // removed meanwhile
		}
	}
}

// statsResponse is Docker's stats body from a sample and the one before.
func statsResponse(id, name string, cur, prev *engine.ContainerStats) container.StatsResponse {
	resp := container.StatsResponse{
		Name: name, ID: id, Read: cur.Read,
		CPUStats: cpuStats(cur),
		MemoryStats: container.MemoryStats{
			Usage: cur.MemoryUsage, Limit: cur.MemoryLimit, Stats: cur.MemoryStats,
		},
		PidsStats: container.PidsStats{Current: cur.Pids, Limit: cur.PidsLimit},
	}
	if prev != nil {
		resp.PreRead = prev.Read
		resp.PreCPUStats = cpuStats(prev)
	}
	return resp
}

func cpuStats(st *engine.ContainerStats) container.CPUStats {
	return container.CPUStats{
		CPUUsage:    container.CPUUsage{TotalUsage: st.CPUTotal},
		SystemUsage: st.SystemCPU,
		OnlineCPUs:  st.OnlineCPUs,
	}
}

// updateFields are the fields of POST /containers/{id}/update Berth
// applies; any other with a value is refused by name.
var updateFields = map[string]bool{"Memory": true, "NanoCpus": true, "PidsLimit": true}

// containerUpdate is POST /containers/{id}/update: memory, CPUs and the
// PID limit, on a running container too.
func (s *Server) containerUpdate(w *responseWriter, r *request) error {
	var raw map[string]json.RawMessage
	if err := decodeJSON(r, s.opts.MaxJSON, &raw); err != nil {
		return err
	}
	var refused []string
	for k, v := range raw {
		if !updateFields[k] && !zeroJSON(v) {
			refused = append(refused, k)
		}
	}
	if len(refused) > 0 {
		sort.Strings(refused)
		return badRequestf("berth does not update %s: only memory (--memory), CPUs (--cpus) and the PID limit (--pids-limit) can change", strings.Join(refused, ", "))
	}
	var req struct {
		Memory    *int64
		NanoCpus  *int64
		PidsLimit *int64
	}
	if data, err := json.Marshal(raw); err == nil {
		_ = json.Unmarshal(data, &req)
	}
	// docker update sends every field: a zero memory or CPU value means
	// "not given", as dockerd reads it.
	opts := engine.UpdateOptions{PidsLimit: req.PidsLimit}
	if req.Memory != nil && *req.Memory != 0 {
		opts.Memory = req.Memory
	}
	if req.NanoCpus != nil && *req.NanoCpus != 0 {
		opts.NanoCPUs = req.NanoCpus
	}
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	if err := s.eng.UpdateContainer(r.Context(), c.ID, opts); err != nil {
		return err
	}
	s.emitContainer(events.ActionUpdate, c.ID, nil)
	return writeJSON(w, http.StatusOK, container.UpdateResponse{Warnings: []string{}})
}

// zeroJSON reports a JSON value that says nothing: null, 0, "", false, an
// empty list or an object of zero values.
func zeroJSON(v json.RawMessage) bool {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	return zeroValue(x)
}

func zeroValue(x any) bool {
	switch t := x.(type) {
	case nil:
		return true
	case bool:
		return !t
	case float64:
		return t == 0
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		for _, v := range t {
			if !zeroValue(v) {
				return false
			}
		}
		return true
	}
	return false
}
