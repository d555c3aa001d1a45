package daemon

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/storage"
)

// createOptions turns Docker's create request into the engine's options.
func createOptions(name string, req *container.CreateRequest) (engine.ContainerCreateOptions, []string, error) {
	cfg := req.Config
	opts := engine.ContainerCreateOptions{
		Image: cfg.Image, Name: name, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir,
		User: cfg.User, Hostname: cfg.Hostname, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin,
		Labels: cfg.Labels, Purpose: "run", StopSignal: cfg.StopSignal, StopTimeout: cfg.StopTimeout,
	}
	if err := refuseUnsupported(req); err != nil {
		return opts, nil, err
	}
	hcfg, err := healthFromRequest(cfg.Healthcheck)
	if err != nil {
		return opts, nil, err
	}
	opts.Healthcheck = hcfg
	if cfg.Entrypoint != nil {
		opts.Entrypoint = cfg.Entrypoint
		if len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "" {
			opts.Entrypoint = []string{} // --entrypoint ""
		}
	}
	var warnings []string
	hc := req.HostConfig
	if hc == nil {
		return opts, warnings, nil
	}
	if err := mountOptions(&opts, cfg, hc); err != nil {
		return opts, nil, err
	}
	if p := hc.RestartPolicy.Name; p != "" && p != "no" {
		return opts, nil, badRequestf("restart policy %q is not supported by berth", p)
	}
	if err := networkCreateOptions(req, &opts); err != nil {
		return opts, nil, err
	}
	if (opts.NetworkMode == "host" || opts.NetworkMode == "none") && (len(hc.PortBindings) > 0 || hc.PublishAllPorts) {
		warnings = append(warnings, "Published ports are discarded when using host network mode")
	}
	opts.Privileged = hc.Privileged
	opts.CapAdd, opts.CapDrop = hc.CapAdd, hc.CapDrop
	opts.SecurityOpt = hc.SecurityOpt
	opts.GroupAdd = hc.GroupAdd
	opts.ReadonlyRootfs = hc.ReadonlyRootfs
	opts.Memory = hc.Memory
	opts.NanoCPUs = hc.NanoCPUs
	if hc.PidsLimit != nil {
		opts.PidsLimit = *hc.PidsLimit
	}
	if hc.Init != nil {
		opts.Init = *hc.Init
	}
	opts.AutoRemove = hc.AutoRemove
	opts.PidMode, opts.UTSMode, opts.IpcMode = string(hc.PidMode), string(hc.UTSMode), string(hc.IpcMode)
	opts.Tmpfs = hc.Tmpfs
	opts.CPUShares, opts.CpusetCpus, opts.CpusetMems = hc.CPUShares, hc.CpusetCpus, hc.CpusetMems
	opts.LogDriver, opts.LogOpts = hc.LogConfig.Type, hc.LogConfig.Config
	return opts, warnings, nil
}

// containerCreate is POST /containers/create?name=.
func (s *Server) containerCreate(w *responseWriter, r *request) error {
	var req container.CreateRequest
	if err := decodeJSON(r, s.opts.MaxJSON, &req); err != nil {
		return err
	}
	if req.Config == nil {
		return badRequestf("config cannot be empty in order to create a container")
	}
	opts, warnings, err := createOptions(r.URL.Query().Get("name"), &req)
	if err != nil {
		return err
	}
	c, err := s.eng.CreateContainer(r.Context(), opts)
	if err != nil {
		return invalidUnlessKnown(err)
	}
	s.sup.setStdinOnce(c.ID, req.Config.StdinOnce)
	if req.HostConfig != nil {
		s.sup.setConsoleSize(c.ID, req.HostConfig.ConsoleSize)
	}
	return writeJSON(w, http.StatusCreated, container.CreateResponse{ID: c.ID, Warnings: orEmpty(warnings)})
}

// invalidUnlessKnown makes an engine error without a known kind a 400: the
// engine's own refusals are about the request (no command, bad option).
func invalidUnlessKnown(err error) error {
	if statusOf(err) != http.StatusInternalServerError || errors.Is(err, runtime.ErrNotRoot) {
		return err
	}
	return errdefs.WithClass(err, errdefs.InvalidParameter)
}

// lookup finds a container by ID, prefix or name.
func (s *Server) lookup(ctx context.Context, name string) (*store.Container, error) {
	return s.eng.Container(ctx, name)
}

// containerStart is POST /containers/{id}/start: the daemon runs it.
func (s *Server) containerStart(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	if err := s.sup.start(r.Context(), c); err != nil {
		if errors.Is(err, errAlreadyStarted) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return startError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// startError words a failed start as `berth run` does, with its exit code.
func startError(err error) error {
	var se *runtime.StartError
	if errors.As(err, &se) {
		status := http.StatusInternalServerError
		if se.Code == runtime.CodeNotFound || se.Code == runtime.CodeCannotRun {
			status = http.StatusBadRequest
		}
		return &apiError{status: status, msg: se.Message(), exitCode: se.Code, err: err}
	}
	return err
}

// stopTimeout is ?t=: without it, the container's own (--stop-timeout, else
// 10 seconds).
func stopTimeout(r *request) (time.Duration, error) {
	if !r.URL.Query().Has("t") {
		return engine.UseStopTimeout, nil
	}
	t, err := intValue(r, "t", 10)
	if err != nil {
		return 0, err
	}
	if t < 0 {
		return -1, nil
	}
	return time.Duration(t) * time.Second, nil
}

// containerStop is POST /containers/{id}/stop?t=.
func (s *Server) containerStop(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if !c.State.Running() {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if err := s.eng.StopContainer(r.Context(), c.ID, timeout); err != nil {
		return err
	}
	s.emitContainer(events.ActionStop, c.ID, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerRestart is POST /containers/{id}/restart?t=.
func (s *Server) containerRestart(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if c.State.Running() {
		if err := s.eng.StopContainer(r.Context(), c.ID, timeout); err != nil {
			return err
		}
		// The daemon's own run records its exit asynchronously.
		for i := 0; s.sup.running(c.ID); i++ {
			if err := r.Context().Err(); err != nil {
				return err
			}
			time.Sleep(time.Duration(min(i+1, 20)) * time.Millisecond)
		}
		if c, err = s.lookup(r.Context(), c.ID); err != nil {
			return err
		}
	}
	if err := s.sup.start(r.Context(), c); err != nil && !errors.Is(err, errAlreadyStarted) {
		return startError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerKill is POST /containers/{id}/kill?signal=.
func (s *Server) containerKill(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	sig := r.URL.Query().Get("signal")
	if sig != "" {
		if _, err := engine.ParseSignal(sig); err != nil {
			return badRequestf("%v", err)
		}
	}
	if err := s.eng.KillContainer(r.Context(), c.ID, sig); err != nil {
		return err
	}
	s.emitContainer(events.ActionKill, c.ID, map[string]string{"signal": killSignal(sig)})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerWait is POST /containers/{id}/wait?condition=: the status line
// goes out at once (docker waits for it before starting the container),
// the body when the condition holds.
func (s *Server) containerWait(w *responseWriter, r *request) error {
	ctx := r.Context()
	c, err := s.lookup(ctx, r.name)
	if err != nil {
		return err
	}
	condition := r.URL.Query().Get("condition")
	switch condition {
	case "":
		condition = "not-running"
	case "not-running", "next-exit", "removed":
	default:
		return badRequestf("invalid condition: %q", condition)
	}
	wt, cancel := s.sup.addWaiter(c.ID, condition)
	defer cancel()
	// Look again now that the waiter is registered: no exit slips between.
	now, err := s.lookup(ctx, c.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ours := s.sup.running(c.ID)
	immediate := -1
	switch {
	case now == nil:
		immediate = c.State.ExitCode // removed meanwhile
	case condition == "not-running" && !now.State.Running() && !ours:
		immediate = now.State.ExitCode
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	code := immediate
	if immediate < 0 {
		if now.State.Running() && !ours {
			// Started by the CLI (its shim supervises it): wait for the
			// process.
			n, err := s.eng.WaitContainer(ctx, c.ID)
			if err != nil {
				return err
			}
			code = n
		} else {
			select {
			case code = <-wt.ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return writeJSONBody(w, container.WaitResponse{StatusCode: int64(code)})
}

func writeJSONBody(w *responseWriter, v any) error {
	data, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// containerResize is POST /containers/{id}/resize?h=&w=.
func (s *Server) containerResize(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	rows, cols, err := sizeParams(r)
	if err != nil {
		return err
	}
	if err := s.sup.resize(c.ID, rows, cols); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func sizeParams(r *request) (rows, cols uint16, err error) {
	h, err := intValue(r, "h", 0)
	if err != nil {
		return 0, 0, err
	}
	wd, err := intValue(r, "w", 0)
	if err != nil {
		return 0, 0, err
	}
	if h < 0 || wd < 0 || h > 65535 || wd > 65535 {
		return 0, 0, badRequestf("invalid terminal size %dx%d", h, wd)
	}
	return uint16(h), uint16(wd), nil
}

// containerLogs is GET /containers/{id}/logs.
func (s *Server) containerLogs(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	stdout, stderr := boolValue(r, "stdout", false), boolValue(r, "stderr", false)
	if !stdout && !stderr {
		return badRequestf("Bad parameters: you must choose at least one stream")
	}
	tail := -1
	if t := r.URL.Query().Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return badRequestf("invalid value for \"tail\": %q is not a number or \"all\"", t)
		}
		if n >= 0 {
			tail = n
		}
	}
	opts := engine.LogsOptions{Follow: boolValue(r, "follow", false), Tail: tail, Timestamps: boolValue(r, "timestamps", false)}
	// The log is open before the answer starts: a client that removes the
	// container once it has the headers (docker-py's run) still reads all.
	logs, err := s.eng.OpenLogs(c.ID, opts)
	if err != nil {
		return err
	}
	defer logs.Close()
	w.Header().Set("Content-Type", streamMediaType(c.Config.Tty))
	w.WriteHeader(http.StatusOK)
	w.Flush()
	mux := &muxWriter{w: flushWriter{w}, tty: c.Config.Tty}
	var out, errOut = mux.streamOf(1), mux.streamOf(2)
	if !stdout {
		out = discard{}
	}
	if !stderr {
		errOut = discard{}
	}
	return logs.Copy(r.Context(), out, errOut)
}

func streamMediaType(tty bool) string {
	if tty {
		return "application/vnd.docker.raw-stream"
	}
	return "application/vnd.docker.multiplexed-stream"
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// flushWriter flushes after every write (followed logs).
type flushWriter struct{ w *responseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.w.Flush()
	return n, err
}

func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ContainerInspect is Docker's view of a container record: the answer to
// GET /containers/{id}/json, which `berth inspect` prints too, so the CLI
// and the daemon show one shape.
func ContainerInspect(eng *engine.Engine, c *store.Container) container.InspectResponse {
	return (&Server{eng: eng}).inspect(c)
}

// inspect is Docker's view of a container record.
func (s *Server) inspect(c *store.Container) container.InspectResponse {
	cmd := append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...)
	path, args := "", []string{}
	if len(cmd) > 0 {
		path, args = cmd[0], cmd[1:]
	}
	dir := s.eng.ContainerDir(c.ID)
	pids := c.Host.PidsLimit
	init := c.Host.Init
	status := c.State.Status
	env := orEmpty(c.Config.Env)
	resp := container.InspectResponse{
		ID: c.ID, Created: dockerTime(c.Created), Path: path, Args: args,
		State: &container.State{
			Status:     container.ContainerState(status),
			Running:    c.State.Running(),
			Paused:     status == store.StatusPaused,
			OOMKilled:  c.State.OOMKilled,
			Dead:       status == store.StatusDead,
			Pid:        c.State.Pid,
			ExitCode:   c.State.ExitCode,
			Error:      c.State.Error,
			StartedAt:  dockerTime(c.State.StartedAt),
			FinishedAt: dockerTime(c.State.FinishedAt),
			Health:     s.Health(c.ID),
		},
		Image:          c.Image,
		ResolvConfPath: filepath.Join(dir, "resolv.conf"),
		HostnamePath:   filepath.Join(dir, "hostname"),
		HostsPath:      filepath.Join(dir, "hosts"),
		LogPath:        s.eng.ContainerLogPath(c.ID),
		Name:           "/" + c.Name,
		Driver:         "overlay2",
		GraphDriver:    &storage.DriverData{Name: "overlay2", Data: s.eng.ContainerGraphDriver(c)},
		Platform:       "linux",
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode(c.Host.NetworkMode), Privileged: c.Host.Privileged,
			CapAdd: c.Host.CapAdd, CapDrop: c.Host.CapDrop, AutoRemove: c.Host.AutoRemove,
			ReadonlyRootfs: c.Host.ReadonlyRootfs, SecurityOpt: c.Host.SecurityOpt, GroupAdd: c.Host.GroupAdd,
			LogConfig: logConfig(c.Host.LogConfig),
			Resources: container.Resources{
				Memory: c.Host.Memory, NanoCPUs: c.Host.NanoCPUs, PidsLimit: &pids,
				CPUShares: c.Host.CPUShares, CpusetCpus: c.Host.CpusetCpus, CpusetMems: c.Host.CpusetMems,
			},
			Init:          &init,
			PidMode:       container.PidMode(c.Host.PidMode),
			UTSMode:       container.UTSMode(c.Host.UTSMode),
			IpcMode:       ipcMode(c.Host.IpcMode),
			CgroupnsMode:  "host",
			Tmpfs:         c.Host.Tmpfs,
			RestartPolicy: container.RestartPolicy{Name: "no"},
			Binds:         c.Host.Binds, VolumesFrom: c.Host.VolumesFrom,
		},
		Mounts: mountPoints(c),
		Config: &container.Config{
			Hostname: c.Config.Hostname, User: c.Config.User, Tty: c.Config.Tty,
			OpenStdin: c.Config.OpenStdin, Env: env, Cmd: c.Config.Cmd, Image: c.ImageRef,
			WorkingDir: c.Config.WorkingDir, Entrypoint: c.Config.Entrypoint, Labels: c.Config.Labels,
			StopSignal: c.Config.StopSignal, StopTimeout: c.Config.StopTimeout, AttachStdout: true, AttachStderr: true,
			Volumes: configVolumes(c), Healthcheck: s.healthConfigOf(c),
		},
		NetworkSettings: networkSettings(c),
	}
	resp.Config.Labels = orEmptyMap(resp.Config.Labels)
	inspectNetworkConfig(&resp, c)
	return resp
}

// logConfig is the container's log driver as Docker shows it.
func logConfig(lc store.LogConfig) container.LogConfig {
	out := container.LogConfig{Type: lc.Type, Config: lc.Config}
	if out.Type == "" {
		out.Type = engine.LogDriverJSONFile
	}
	out.Config = orEmptyMap(out.Config)
	return out
}

// ipcMode is Docker's name for the container's IPC namespace: its own is
// "private".
func ipcMode(m string) container.IpcMode {
	if m == "" {
		return "private"
	}
	return container.IpcMode(m)
}

// containerInspect is GET /containers/{id}/json.
func (s *Server) containerInspect(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	resp := s.inspect(c)
	if boolValue(r, "size", false) {
		rw := s.eng.ContainerSize(c.ID)
		rootfs := rw + s.imageSize(c.Image)
		resp.SizeRw, resp.SizeRootFs = &rw, &rootfs
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) imageSize(id string) int64 {
	if id == "" {
		return 0
	}
	img, err := s.eng.LookupImage(id)
	if err != nil {
		return 0
	}
	return img.Size
}

// containerFilter is docker ps --filter: values of one key are ORed, keys
// ANDed (engine.MatchContainers). It also says whether the status is filtered.
func containerFilter(filters []string) (func(*store.Container) bool, bool, error) {
	byKey := map[string][]string{}
	status := false
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		if !engine.IsContainerFilterKey(k) {
			return nil, false, badRequestf("invalid filter '%s'", k)
		}
		status = status || k == "status" || k == "exited"
		byKey[k] = append(byKey[k], v)
	}
	match, err := engine.MatchContainers(byKey)
	if err != nil {
		return nil, false, badRequestf("%v", err)
	}
	return match, status, nil
}

// containerList is GET /containers/json.
func (s *Server) containerList(w *responseWriter, r *request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	match, statusFilter, err := containerFilter(filters)
	if err != nil {
		return err
	}
	all := boolValue(r, "all", false)
	limit, err := intValue(r, "limit", -1)
	if err != nil {
		return err
	}
	list, err := s.eng.ListContainers(r.Context(), true)
	if err != nil {
		return err
	}
	withSize := boolValue(r, "size", false)
	out := []container.Summary{}
	for _, c := range list {
		if !all && !statusFilter && !c.State.Running() {
			continue
		}
		if !match(c) {
			continue
		}
		if limit >= 0 && len(out) >= limit {
			break
		}
		out = append(out, s.summary(c, withSize))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) summary(c *store.Container, withSize bool) container.Summary {
	cmd := strings.Join(append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...), " ")
	imageName := c.Image
	if c.ImageRef != "" {
		if img, err := s.eng.LookupImage(c.ImageRef); err == nil && img.ID.String() == c.Image {
			imageName = c.ImageRef
		}
	}
	labels := orEmptyMap(c.Config.Labels)
	sum := container.Summary{
		ID: c.ID, Names: []string{"/" + c.Name}, Image: imageName, ImageID: c.Image,
		Command: cmd, Created: c.Created.Unix(), Ports: portSummaries(c), Labels: labels,
		State: container.ContainerState(c.State.Status), Status: s.statusWithHealth(c),
		NetworkSettings: &container.NetworkSettingsSummary{Networks: networkSettings(c).Networks},
		Mounts:          mountPoints(c),
	}
	sum.HostConfig.NetworkMode = c.Host.NetworkMode
	if withSize {
		sum.SizeRw = s.eng.ContainerSize(c.ID)
		sum.SizeRootFs = sum.SizeRw + s.imageSize(c.Image)
	}
	return sum
}

// containerDelete is DELETE /containers/{id}?force=.
func (s *Server) containerDelete(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	if boolValue(r, "link", false) {
		return badRequestf("links are not supported by berth")
	}
	if err := s.eng.RemoveContainerVolumes(r.Context(), c.ID, boolValue(r, "force", false), boolValue(r, "v", false)); err != nil {
		return err
	}
	s.sup.removed(c.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerPrune is POST /containers/prune.
func (s *Server) containerPrune(w *responseWriter, r *request) error {
	removed, reclaimed, err := s.eng.PruneContainers(r.Context())
	for _, id := range removed {
		s.sup.removed(id)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, container.PruneReport{ContainersDeleted: orEmpty(removed), SpaceReclaimed: uint64(reclaimed)})
}

// containerPause is POST /containers/{id}/pause.
func (s *Server) containerPause(w *responseWriter, r *request) error {
	return s.setPaused(w, r, s.eng.PauseContainer)
}

// containerUnpause is POST /containers/{id}/unpause.
func (s *Server) containerUnpause(w *responseWriter, r *request) error {
	return s.setPaused(w, r, s.eng.UnpauseContainer)
}

// setPaused pauses or unpauses the request's container with change.
func (s *Server) setPaused(w *responseWriter, r *request, change func(context.Context, string) error) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	if err := change(r.Context(), c.ID); err != nil {
		return conflictUnlessKnown(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// conflictUnlessKnown: pausing a paused container is a state conflict.
func conflictUnlessKnown(err error) error {
	if statusOf(err) != http.StatusInternalServerError {
		return err
	}
	if strings.Contains(err.Error(), "already paused") || strings.Contains(err.Error(), "is not paused") {
		return errdefs.WithClass(err, errdefs.Conflict)
	}
	return err
}

// containerTop is GET /containers/{id}/top.
func (s *Server) containerTop(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	titles, procs, err := s.eng.TopContainer(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, container.TopResponse{Titles: titles, Processes: orEmpty(procs)})
}

// containerChanges is GET /containers/{id}/changes.
func (s *Server) containerChanges(w *responseWriter, r *request) error {
	c, err := s.lookup(r.Context(), r.name)
	if err != nil {
		return err
	}
	changes, err := s.eng.ContainerChanges(c.ID)
	if err != nil {
		return err
	}
	out := []container.FilesystemChange{}
	for _, ch := range changes {
		kind := container.ChangeModify
		switch ch.Kind {
		case layer.ChangeAdd:
			kind = container.ChangeAdd
		case layer.ChangeDelete:
			kind = container.ChangeDelete
		}
		out = append(out, container.FilesystemChange{Path: ch.Path, Kind: kind})
	}
	return writeJSON(w, http.StatusOK, out)
}

// commit is POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=.
func (s *Server) commit(w *responseWriter, r *request) error {
	q := r.URL.Query()
	var cfg container.Config
	if err := decodeJSON(r, s.opts.MaxJSON, &cfg); err != nil {
		return err
	}
	name := q.Get("container")
	if name == "" {
		return badRequestf("container is required")
	}
	ref := q.Get("repo")
	if ref != "" && q.Get("tag") != "" {
		ref += ":" + q.Get("tag")
	}
	img, err := s.eng.Commit(r.Context(), name, engine.CommitOptions{
		Author: q.Get("author"), Message: q.Get("comment"), Changes: append(configChanges(&cfg), q["changes"]...),
		Pause: boolValue(r, "pause", true), Ref: ref,
	})
	if err != nil {
		return invalidUnlessKnown(err)
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"Id": img.ID.String()})
}

// statusWithHealth is ps's STATUS, with the health check's verdict as
// Docker shows it: "Up 3 minutes (healthy)", "(health: starting)".
func (s *Server) statusWithHealth(c *store.Container) string {
	status := engine.ContainerStatus(c.State, time.Now().UTC())
	h := s.Health(c.ID)
	if h == nil || !c.State.Running() {
		return status
	}
	if h.Status == container.Starting {
		return status + " (health: starting)"
	}
	return status + " (" + string(h.Status) + ")"
}

// healthConfigOf is inspect's Config.Healthcheck: the container's health
// check laid over its image's, as dockerd reports it.
func (s *Server) healthConfigOf(c *store.Container) *container.HealthConfig {
	var img *store.HealthConfig
	if s.eng != nil && c.Image != "" {
		if i, err := s.eng.InspectImage(context.Background(), c.Image); err == nil && i != nil {
			img = i.Config.Healthcheck
		}
	}
	hc := mergeHealth(img, c.Config.Healthcheck)
	if hc == nil {
		return nil
	}
	return &container.HealthConfig{
		Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod,
		StartInterval: hc.StartInterval, Retries: hc.Retries,
	}
}
