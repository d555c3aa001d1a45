package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthkit/berth/internal/crashpoint"
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
	Purpose string `json:"purpose"`
	// Builder and BuilderStart name the berth process whose build created
	// this intermediate container (Purpose "build" or "copy"): while it lives the
	// container is the build's; once it is gone, container prune removes it.
	Builder      int             `json:"builder,omitempty"`
	BuilderStart uint64          `json:"builder_start,omitempty"`
	Config       ContainerConfig `json:"config"`
	Host         HostConfig      `json:"host"`
	State        ContainerState  `json:"state"`
	// Mounts are the container's binds, volumes and tmpfs mounts, resolved
	// at create (volumes.go).
	Mounts []MountPoint `json:"mounts,omitempty"`
	// Net is the container's networking (container_network.go).
	Net ContainerNet `json:"net,omitempty"`
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
	// StopTimeout is the seconds stop waits before SIGKILL when the caller
	// gives none (--stop-timeout); nil is Docker's 10.
	StopTimeout *int `json:"stop_timeout,omitempty"`
	// Volumes are the anonymous volume paths: the image's VOLUMEs and
	// -v /path (Docker's Config.Volumes).
	Volumes []string `json:"volumes,omitempty"`
	// Healthcheck is the create request's health check (--health-cmd and
	// friends, or --no-healthcheck's NONE); its zero fields are the
	// image's.
	Healthcheck *HealthConfig `json:"healthcheck,omitempty"`
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
	// ReadonlyRootfs mounts the container's / read-only (--read-only).
	ReadonlyRootfs bool `json:"readonly_rootfs,omitempty"`
	// SecurityOpt holds --security-opt values: "no-new-privileges",
	// "seccomp=unconfined".
	SecurityOpt []string `json:"security_opt,omitempty"`
	// GroupAdd are extra groups for the process (--group-add).
	GroupAdd []string `json:"group_add,omitempty"`
	// PidMode, UTSMode and IpcMode are "" (namespaces of its own) or
	// "host" (--pid host, --uts host, --ipc host).
	PidMode string `json:"pid_mode,omitempty"`
	UTSMode string `json:"uts_mode,omitempty"`
	IpcMode string `json:"ipc_mode,omitempty"`
	// Tmpfs maps a path inside the container to its tmpfs mount options
	// (--tmpfs /run:size=64m).
	Tmpfs map[string]string `json:"tmpfs,omitempty"`
	// CPUShares, CpusetCpus and CpusetMems are --cpu-shares,
	// --cpuset-cpus and --cpuset-mems.
	CPUShares  int64  `json:"cpu_shares,omitempty"`
	CpusetCpus string `json:"cpuset_cpus,omitempty"`
	CpusetMems string `json:"cpuset_mems,omitempty"`
	// LogConfig is the log driver ("json-file" or "none") and its options
	// (max-size, max-file); an empty Type is json-file.
	LogConfig LogConfig `json:"log_config,omitzero"`
	// Binds, MountSpecs and VolumesFrom are the mount requests as given
	// (-v, --mount, --volumes-from), echoed by inspect.
	Binds       []string `json:"binds,omitempty"`
	MountSpecs  []string `json:"mount_specs,omitempty"`
	VolumesFrom []string `json:"volumes_from,omitempty"`
}

// LogConfig is --log-driver and --log-opt.
type LogConfig struct {
	Type   string            `json:"type,omitempty"`
	Config map[string]string `json:"config,omitempty"`
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
	// Supervisor is the berth process that started the container and
	// waits for it (the attached CLI, or a detached container's shim), and
	// SupervisorStart its start time: while it lives, it records the exit.
	Supervisor      int    `json:"supervisor,omitempty"`
	SupervisorStart uint64 `json:"supervisor_start,omitempty"`
}

// Container states, as Docker names them.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusPaused  = "paused"
	StatusExited  = "exited"
	StatusDead    = "dead"
)

// Running reports whether the container's process is (as far as the record
// knows) alive: running or paused.
func (st ContainerState) Running() bool {
	return st.Status == StatusRunning || st.Status == StatusPaused
}

// ShortID is the 12 hex characters Docker shows.
func (c *Container) ShortID() string { return c.ID[:12] }

// ContainerDir is containers/<id>.
func (s *Store) ContainerDir(id string) string { return filepath.Join(s.ContainersDir(), id) }

func (s *Store) containerConfigPath(id string) string {
	return filepath.Join(s.ContainerDir(id), "config.json")
}

// PutContainer writes the container's record atomically, creating its dir.
// Records are renamed into place but not fsynced: they change at every
// start and exit, an fsync costs milliseconds, and after a machine crash
// recovery rewrites the state of every container that was running anyway.
// The record of a container removed when it exits (a build step's, a --rm
// one's) replaces the previous one by exchange (writeDiscardedRecord).
func (s *Store) PutContainer(c *Container) error {
	if len(c.ID) != 64 || !isHex(c.ID) {
		return fmt.Errorf("container ID %q is not 64 hex characters", c.ID)
	}
	rec := recordEncoders.Get().(*recordEncoder)
	defer recordEncoders.Put(rec)
	data, err := rec.encode(c)
	if err != nil {
		return err
	}
	path := s.containerConfigPath(c.ID)
	write := WriteFileReplace
	// A created record is the first (there is nothing to exchange with).
	if (c.Purpose == "build" || c.Host.AutoRemove) && c.State.Status != StatusCreated {
		write = writeDiscardedRecord
	}
	err = write(path, data, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		// The directory is made on the first write that misses it, not
		// looked for before every write.
		if err := os.MkdirAll(s.ContainerDir(c.ID), 0o700); err != nil {
			return fmt.Errorf("container %s: %w", c.ShortID(), err)
		}
		err = write(path, data, 0o600)
	}
	return err
}

// A recordEncoder writes container records as json.MarshalIndent(c, "",
// "  ") does, into buffers it keeps: MarshalIndent's two fresh buffers a
// record (three records a RUN step) were new heap pages between two
// collections, each a page fault.
type recordEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var recordEncoders = sync.Pool{New: func() any {
	r := &recordEncoder{}
	r.enc = json.NewEncoder(&r.buf)
	r.enc.SetIndent("", "  ")
	// MarshalIndent escapes <, > and & too.
	r.enc.SetEscapeHTML(true)
	return r
}}

// encode returns c's record, valid until the encoder's next use.
func (r *recordEncoder) encode(c *Container) ([]byte, error) {
	r.buf.Reset()
	if err := r.enc.Encode(c); err != nil {
		return nil, err
	}
	// Encode ends the value with a newline that MarshalIndent does not.
	return bytes.TrimSuffix(r.buf.Bytes(), []byte("\n")), nil
}

// ReadContainer reads the record of the container with full ID id.
func (s *Store) ReadContainer(id string) (*Container, error) {
	s.recordReads.Add(1)
	data, err := readFile(s.containerConfigPath(id))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("No such container: %s: %w", id, ErrNotFound)
		}
		return nil, err
	}
	var c Container
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("container %s: damaged record: %w", id[:12], err)
	}
	return &c, nil
}

// LockContainer takes an exclusive lock on the container's record, shared
// by every berth process: start, stop, the supervisor recording an exit and
// rm take it around their read-modify-write. The lock is on the container's
// directory itself (flock works on a directory's descriptor): a lock file
// beside the record was one more file to create and delete per container.
func (s *Store) LockContainer(id string) (unlock func(), err error) {
	if len(id) != 64 || !isHex(id) {
		return nil, fmt.Errorf("container ID %q is not 64 hex characters", id)
	}
	f, err := openDir(s.ContainerDir(id))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("No such container: %s: %w", id, ErrNotFound)
		}
		return nil, err
	}
	if err := flock(f, lockExclusive); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock container %s: %w", id[:12], err)
	}
	return func() { f.Close() }, nil
}

// UpdateContainer applies fn to the container's current record under its
// lock and writes the result, which it returns. If fn fails nothing is
// written.
func (s *Store) UpdateContainer(id string, fn func(*Container) error) (*Container, error) {
	unlock, err := s.LockContainer(id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := s.ReadContainer(id)
	if err != nil {
		return nil, err
	}
	if err := fn(c); err != nil {
		return c, err
	}
	if err := s.PutContainer(c); err != nil {
		return nil, err
	}
	return c, nil
}

// ContainerLogPath is the container's log, in Docker's json-file format.
func (s *Store) ContainerLogPath(id string) string {
	return filepath.Join(s.ContainerDir(id), id+"-json.log")
}

// Containers lists every container record, newest first.
func (s *Store) Containers() ([]*Container, error) {
	var out []*Container
	err := s.eachContainerRecord(func(_ string, data []byte) {
		var c Container
		if json.Unmarshal(data, &c) == nil {
			out = append(out, &c)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, err
}

// ContainerNames maps every container's name to its ID: what a create
// checks a new name against. It decodes only those two fields of each
// record, where Containers decodes the whole config (a build step's
// holds the image's environment), and every create calls it.
func (s *Store) ContainerNames() (map[string]string, error) {
	names := map[string]string{}
	err := s.eachContainerRecord(func(_ string, data []byte) {
		var c struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if json.Unmarshal(data, &c) == nil {
			names[c.Name] = c.ID
		}
	})
	return names, err
}

// eachContainerRecord calls fn with the bytes of every container record;
// a directory without one is being created or removed, and is skipped.
func (s *Store) eachContainerRecord(fn func(id string, data []byte)) error {
	// The names alone, sorted as os.ReadDir sorts its entries: at 10,000
	// containers a DirEntry each was 1 MB more of a listing's peak. A name
	// that is not a directory has no record to read and is skipped below.
	names, err := readDirNamesSorted(s.ContainersDir())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for i, name := range names {
		names[i] = ""
		if len(name) != 64 {
			continue
		}
		s.recordReads.Add(1)
		data, err := readFile(s.containerConfigPath(name))
		if err != nil {
			continue // being created or removed, or not a directory
		}
		fn(name, data)
	}
	return nil
}

// readDirNamesSorted is os.ReadDir's names, in its order.
func readDirNamesSorted(dir string) ([]string, error) {
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// readDirNames is a directory's names, in the file system's order.
func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Container finds a container by full ID, unique ID prefix or name. The
// error reads like Docker's: "No such container: foo".
func (s *Store) Container(idOrName string) (*Container, error) {
	if len(idOrName) == 64 && isHex(idOrName) {
		// A full ID names one directory: no need to read every record.
		// An ID wins over a name, as in Docker.
		if c, err := s.ReadContainer(idOrName); err == nil {
			return c, nil
		}
	}
	name := strings.TrimPrefix(idOrName, "/")
	c, indexed, err := s.containerByName(name)
	if err != nil {
		return nil, err
	}
	if c != nil {
		return c, nil
	}
	if indexed {
		return s.containerByPrefix(idOrName)
	}
	return s.containerByScan(idOrName, name)
}

// containerByPrefix finds the container whose ID starts with prefix
// among the directory's names, reading only the records that match; a
// record that does not decode is left out, as every listing leaves it.
func (s *Store) containerByPrefix(prefix string) (*Container, error) {
	var found []*Container
	if isHex(prefix) {
		names, err := readDirNames(s.ContainersDir())
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, id := range names {
			if len(id) != 64 || !strings.HasPrefix(id, prefix) {
				continue
			}
			if c, err := s.ReadContainer(id); err == nil {
				found = append(found, c)
			}
		}
	}
	return onlyMatch(found, prefix)
}

// onlyMatch is the one container a lookup found, or Docker's errors for
// none and for several.
func onlyMatch(found []*Container, idOrName string) (*Container, error) {
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, &notFoundError{msg: "No such container: " + idOrName}
	default:
		return nil, ambiguousError(idOrName)
	}
}

// containerByScan is Container on a store without the name index: every
// record is read.
func (s *Store) containerByScan(idOrName, name string) (*Container, error) {
	all, err := s.Containers()
	if err != nil {
		return nil, err
	}
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
	return onlyMatch(found, idOrName)
}

// DeleteContainer removes the container's directory. Callers unmount first.
// Once renamed away the container is gone from every listing; its files
// are deleted in the background, so a build step does not wait on the disk
// for them (a few milliseconds on a busy machine). Close waits for them,
// and a process that dies first leaves them in tmp/ for the next Open.
func (s *Store) DeleteContainer(id string) error {
	return s.deleteContainer(id, nil, false)
}

// DeleteContainerAfter is DeleteContainer whose background deletion of
// the files first waits for before (when not nil): a build step's
// container whose mounts are still being torn down is gone from every
// listing at once, and its files go once nothing is mounted on them. The
// container's name entry is released in the background too, first: from
// the rename on it is stale, which a claim of the name already treats as
// free (container_names.go), and Close waits for it as for the files.
func (s *Store) DeleteContainerAfter(id string, before func()) error {
	return s.deleteContainer(id, before, true)
}

// deleteContainer is DeleteContainer and DeleteContainerAfter: the name is
// released in the background with the files when releaseLater.
func (s *Store) deleteContainer(id string, before func(), releaseLater bool) error {
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
	crashpoint.Hit("rm.renamed")
	// The name's entry goes after the record (a crash before leaves it
	// stale, and free to take: container_names.go); failing to remove
	// it leaves it stale too.
	if !releaseLater {
		_ = s.releaseRemovedName(id, trash)
	}
	s.trash.Add(1)
	go func() {
		defer s.trash.Done()
		if releaseLater {
			_ = s.releaseRemovedName(id, trash)
		}
		if before != nil {
			before()
		}
		// Five levels reach the deepest directory a container that wrote
		// nothing has: the overlay's volatile mark,
		// work/work/incompat/volatile/dirty.
		_ = removeShallow(trash, containerDepth)
	}()
	return nil
}

// containerDepth is how deep removeShallow goes in a container's directory
// before os.RemoveAll takes over.
const containerDepth = 5

// removeShallow removes dir and everything in it, as os.RemoveAll, in
// fewer system calls for a tree as shallow as a container's: it reads each
// directory once, unlinks files at once and removes an empty subdirectory
// with one rmdir, where RemoveAll tries unlink first and reads every
// directory twice. Below depth levels RemoveAll takes over.
func removeShallow(dir string, depth int) error {
	if depth <= 0 {
		return os.RemoveAll(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return os.RemoveAll(dir)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() {
			err = os.Remove(p)
		} else if err = rmdir(p); err != nil {
			err = removeShallow(p, depth-1)
		}
		if err != nil {
			return os.RemoveAll(dir)
		}
	}
	return rmdir(dir)
}
