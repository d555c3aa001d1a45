package daemon

import (
	"net/http"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/trace"
)

// ping is /_ping: "OK", with the headers clients negotiate from.
// Builder-Version 1 tells docker to use the classic builder.
func (s *Server) ping(w *responseWriter, r *request) error {
	h := w.Header()
	h.Set("Builder-Version", "1")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write([]byte("OK"))
	return err
}

// VersionResponse is /version's body.
func (s *Server) versionResponse() system.VersionResponse {
	details := map[string]string{
		"ApiVersion":    api.APIVersion,
		"MinAPIVersion": api.MinAPIVersion,
		"GoVersion":     goruntime.Version(),
		"Os":            goruntime.GOOS,
		"Arch":          goruntime.GOARCH,
		"KernelVersion": kernelVersion(),
		"TraceSchema":   strconv.Itoa(trace.SchemaVersion),
	}
	return system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "Berth"},
		Components:    []system.ComponentVersion{{Name: "Engine", Version: engine.Version, Details: details}},
		Version:       engine.Version,
		APIVersion:    api.APIVersion,
		MinAPIVersion: api.MinAPIVersion,
		GoVersion:     goruntime.Version(),
		Os:            goruntime.GOOS,
		Arch:          goruntime.GOARCH,
		KernelVersion: kernelVersion(),
	}
}

func (s *Server) version(w *responseWriter, r *request) error {
	return writeJSON(w, http.StatusOK, s.versionResponse())
}

func (s *Server) info(w *responseWriter, r *request) error {
	ctx := r.Context()
	containers, err := s.eng.ListContainers(ctx, true)
	if err != nil {
		return err
	}
	images, err := s.eng.Images()
	if err != nil {
		return err
	}
	info := system.Info{
		ID:              "berth",
		Images:          len(images),
		Driver:          "overlay2",
		DriverStatus:    [][2]string{{"Backing Filesystem", "berth store"}},
		MemoryLimit:     true,
		PidsLimit:       true,
		CPUCfsQuota:     true,
		LoggingDriver:   "json-file",
		CgroupDriver:    "cgroupfs",
		KernelVersion:   kernelVersion(),
		OperatingSystem: operatingSystem(),
		OSType:          goruntime.GOOS,
		Architecture:    goruntime.GOARCH,
		NCPU:            goruntime.NumCPU(),
		MemTotal:        memTotal(),
		DockerRootDir:   s.eng.Root(),
		ServerVersion:   engine.Version,
		DefaultRuntime:  "berth",
		SecurityOptions: []string{"name=seccomp,profile=builtin"},
		SystemTime:      time.Now().Format(time.RFC3339Nano),
		NGoroutines:     goruntime.NumGoroutine(),
		Labels:          []string{},
	}
	// Berth never joins a swarm; docker info prints "Swarm: inactive".
	info.Swarm.LocalNodeState = swarm.LocalNodeStateInactive
	info.Name, _ = os.Hostname()
	for _, c := range containers {
		if c.Purpose != "run" {
			continue
		}
		info.Containers++
		switch c.State.Status {
		case "running":
			info.ContainersRunning++
		case "paused":
			info.ContainersPaused++
		default:
			info.ContainersStopped++
		}
	}
	return writeJSON(w, http.StatusOK, info)
}

func operatingSystem() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return goruntime.GOOS
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return goruntime.GOOS
}
