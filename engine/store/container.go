package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Container is the record of a container: what it was created from and with,
// and its state. It lives in containers/<id>/config.json; the snapshot dirs
// (upper, work, merged) sit beside it.
type Container struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Image is the image ID the container was created from; ImageRef is the
	// name the user gave ("busybox", "sha256:...").
	Image    string `json:"image"`
	ImageRef string `json:"image_ref"`
	// LayerChainIDs are the chain IDs of the image's layers, base first: the
	// layer dirs this container's overlay uses. GC keeps them.
	LayerChainIDs []string `json:"layer_chain_ids"`
	// Purpose is "run" for user containers and "build" for a build step's
	// intermediate container.
	Purpose string          `json:"purpose"`
	Config  ContainerConfig `json:"config"`
	Host    HostConfig      `json:"host"`
	State   ContainerState  `json:"state"`
}

// ContainerConfig mirrors the parts of Docker's container config Berth uses.
type ContainerConfig struct {
	Hostname   string            `json:"hostname,omitempty"`
	User       string            `json:"user,omitempty"`
	Env        []string          `json:"env,omitempty"`
	Cmd        []string          `json:"cmd,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	WorkingDir string            `json:"working_dir,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Tty        bool              `json:"tty,omitempty"`
	OpenStdin  bool              `json:"open_stdin,omitempty"`
	StopSignal string            `json:"stop_signal,omitempty"`
}

// HostConfig mirrors Docker's host config: how the container runs.
type HostConfig struct {
	NetworkMode string   `json:"network_mode,omitempty"` // "host" (default) or "none"
	Privileged  bool     `json:"privileged,omitempty"`
	CapAdd      []string `json:"cap_add,omitempty"`
	CapDrop     []string `json:"cap_drop,omitempty"`
	Memory      int64    `json:"memory,omitempty"`
	PidsLimit   int64    `json:"pids_limit,omitempty"`
	NanoCPUs    int64    `json:"nano_cpus,omitempty"`
	Init        bool     `json:"init,omitempty"`
	AutoRemove  bool     `json:"auto_remove,omitempty"`
}

// ContainerState is the lifecycle state.
type ContainerState struct {
	Status     string    `json:"status"` // created, running, paused, exited, dead
	Pid        int       `json:"pid,omitempty"`
	PidStart   uint64    `json:"pid_start,omitempty"` // start time of Pid (from /proc), to detect reuse
	ExitCode   int       `json:"exit_code"`
	ExitKnown  bool      `json:"exit_known"`
	Error      string    `json:"error,omitempty"`
	OOMKilled  bool      `json:"oom_killed,omitempty"`
	StartedAt  time.Time `json:"started_at,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitempty"`
}

// ShortID is the 12 hex characters Docker shows.
func (c *Container) ShortID() string { return c.ID[:12] }

// ContainerDir is containers/<id>.
func (s *Store) ContainerDir(id string) string { return filepath.Join(s.ContainersDir(), id) }

func (s *Store) containerConfigPath(id string) string {
	return filepath.Join(s.ContainerDir(id), "config.json")
}

// PutContainer writes the container's record atomically, creating its dir.
func (s *Store) PutContainer(c *Container) error {
	if len(c.ID) != 64 || !isHex(c.ID) {
		return fmt.Errorf("container ID %q is not 64 hex characters", c.ID)
	}
	if err := os.MkdirAll(s.ContainerDir(c.ID), 0o700); err != nil {
		return fmt.Errorf("container %s: %w", c.ShortID(), err)
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.containerConfigPath(c.ID), data, 0o600)
}

// Containers lists every container record, newest first.
func (s *Store) Containers() ([]*Container, error) {
	entries, err := os.ReadDir(s.ContainersDir())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() || len(e.Name()) != 64 {
			continue
		}
		data, err := os.ReadFile(s.containerConfigPath(e.Name()))
		if err != nil {
			continue // being created or removed
		}
		var c Container
		if json.Unmarshal(data, &c) != nil {
			continue
		}
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Container finds a container by full ID, unique ID prefix or name. The
// error reads like Docker's: "No such container: foo".
func (s *Store) Container(idOrName string) (*Container, error) {
	all, err := s.Containers()
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(idOrName, "/")
	for _, c := range all {
		if c.ID == idOrName || c.Name == name {
			return c, nil
		}
	}
	var found []*Container
	if isHex(idOrName) {
		for _, c := range all {
			if strings.HasPrefix(c.ID, idOrName) {
				found = append(found, c)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, &notFoundError{msg: "No such container: " + idOrName}
	default:
		return nil, fmt.Errorf("multiple containers match %q, give more characters: %w", idOrName, ErrAmbiguous)
	}
}

// DeleteContainer removes the container's directory. Callers unmount first.
func (s *Store) DeleteContainer(id string) error {
	if len(id) != 64 || !isHex(id) {
		return fmt.Errorf("container ID %q is not 64 hex characters", id)
	}
	// Rename first so a crash mid-removal leaves no half record that lists.
	dir := s.ContainerDir(id)
	trash := filepath.Join(s.TmpDir(), "rm-"+id)
	if err := os.Rename(dir, trash); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove container %s: %w", id[:12], err)
	}
	return os.RemoveAll(trash)
}
