package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/network"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/snapshot"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
	"github.com/berthkit/berth/internal/lazyre"
	"github.com/berthkit/berth/internal/ovl"
	"github.com/berthkit/berth/trace"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Container errors, checked with errors.Is.
var (
	// ErrNotRunning: the operation needs a running container.
	ErrNotRunning = errdefs.New(errdefs.Conflict, "container is not running")
	// ErrRunning: the operation needs a stopped container (rm without -f).
	ErrRunning = errdefs.New(errdefs.Conflict, "container is running")
)

// DefaultPath is the PATH a container gets when its image sets none, as in
// Docker.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Stdio is a container's standard streams. Nil In is /dev/null; nil Out or
// Err discard.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// ContainerCreateOptions mirror Docker's container config and host config.
type ContainerCreateOptions struct {
	Image string // name or ID; "" is scratch (no layers)
	Name  string // "" gets a generated Docker-style name
	Cmd   []string
	// Entrypoint nil means the image's; non-nil and empty means none
	// (docker run --entrypoint "").
	Entrypoint []string
	// Env is merged over the image's: a KEY replaces the image's KEY.
	Env        []string
	WorkingDir string
	User       string
	Hostname   string // "" is the short container ID
	Tty        bool
	OpenStdin  bool
	Labels     map[string]string
	// NetworkMode is "bridge" (default), "host", "none" or a network's
	// name or ID; Net holds the other network flags.
	NetworkMode    string
	Net            NetworkOptions
	Privileged     bool
	CapAdd         []string
	CapDrop        []string
	SecurityOpt    []string // "no-new-privileges", "seccomp=unconfined"
	GroupAdd       []string
	ReadonlyRootfs bool
	Memory         int64 // bytes
	PidsLimit      int64
	NanoCPUs       int64
	Init           bool
	AutoRemove     bool
	// PidMode, UTSMode and IpcMode are "" or "host" (--pid, --uts, --ipc);
	// IpcMode also takes "private" and "shareable", which are the default.
	PidMode, UTSMode, IpcMode string
	// Tmpfs maps mount points to tmpfs options (--tmpfs /run:size=64m).
	Tmpfs map[string]string
	// StopSignal overrides the image's STOPSIGNAL (--stop-signal);
	// StopTimeout is stop's default wait in seconds (--stop-timeout).
	StopSignal  string
	StopTimeout *int
	// Healthcheck overrides the image's HEALTHCHECK (--health-cmd...);
	// the daemon runs it.
	Healthcheck *store.HealthConfig
	// CPUShares, CpusetCpus, CpusetMems: --cpu-shares, --cpuset-cpus,
	// --cpuset-mems.
	CPUShares              int64
	CpusetCpus, CpusetMems string
	// LogDriver is "json-file" (default) or "none"; LogOpts its options
	// (max-size, max-file).
	LogDriver string
	LogOpts   map[string]string
	// Purpose is "run" (default), "build" or "copy"; it goes into the
	// trace and the record.
	Purpose string
	// NeverStarts says the container will only be committed (a build's
	// metadata or COPY step); container.create records started: false.
	NeverStarts bool
	// Binds are -v specs; Mounts parsed --mount specs, MountSpecs their
	// text (for inspect); VolumesFrom --volumes-from's "container[:ro|rw]";
	// Volumes anonymous volume paths (the API's Config.Volumes), which any
	// -v or --mount at the same path replaces (volumes.go).
	Binds       []string
	Mounts      []volume.Mount
	MountSpecs  []string
	VolumesFrom []string
	Volumes     []string

	// resolved is the image Image names, when the builder already has it.
	resolved *store.Image
	// metadataOnly: a build's metadata step, removed after its commit. It
	// is never mounted or started, so it gets no filesystem (init layer,
	// snapshot, /etc files) and its record stays in memory: writing,
	// listing and deleting a record holding the whole environment made
	// every ENV or LABEL line of a long Dockerfile cost more than the last.
	metadataOnly bool
	// id is the ID chosen ahead for a build's step (its spare init is
	// started in its cgroup, runtime.Spec.SpareNext); "" gets a fresh one.
	id string
	// staged is the directory made ahead for that ID (a build's next RUN
	// step, build_stage.go); nil makes it here.
	staged *stagedDir
}

var validName = lazyre.New(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// CreateContainer creates a container from an image, as docker create: its
// record, its snapshot (an overlay over the image's unpacked layers), and
// the /etc/hostname, /etc/hosts and /etc/resolv.conf it will see. Nothing
// runs.
func (e *Engine) CreateContainer(ctx context.Context, opts ContainerCreateOptions) (*store.Container, error) {
	if err := requireRoot(); err != nil {
		return nil, err
	}
	if opts.Name != "" && !validName.MatchString(opts.Name) {
		return nil, fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", opts.Name)
	}
	if err := validateHostOptions(opts); err != nil {
		return nil, err
	}
	img, err := e.createImage(opts)
	if err != nil {
		return nil, err
	}
	var imgCfg ocispec.ImageConfig
	if img != nil {
		imgCfg = img.Config.Config
	}
	cfg := mergeConfig(imgCfg, opts)
	if len(cfg.Entrypoint)+len(cfg.Cmd) == 0 {
		return nil, errors.New("No command specified")
	}
	if cfg.WorkingDir != "" && !filepath.IsAbs(cfg.WorkingDir) {
		return nil, fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", cfg.WorkingDir)
	}
	mounts, err := e.resolveMounts(imgCfg, opts)
	if err != nil {
		return nil, err
	}
	var lowers []string
	var chains []string
	if img != nil && !opts.metadataOnly {
		if lowers, err = e.LowerDirs(ctx, img); err != nil {
			return nil, err
		}
		for _, ch := range img.ChainIDs() {
			chains = append(chains, ch.String())
		}
	}
	c := newContainerRecord(cfg, opts, chains, mounts)
	if img != nil {
		c.Image = img.ID.String()
	}
	if opts.metadataOnly {
		c.Name = generateName(true)
		e.metadataContainers.Store(c.ID, c)
		e.EmitContext(ctx, trace.Event{Type: trace.ContainerCreate, Container: &trace.ContainerInfo{
			ID: c.ID, Name: c.Name, Image: c.Image, Purpose: c.Purpose, Cmd: commandLine(c),
		}})
		return c, nil
	}
	if err := e.storeNewContainer(c, opts, imgCfg, lowers); err != nil {
		return nil, err
	}
	e.EmitContext(ctx, trace.Event{Type: trace.ContainerCreate, Container: withNetAndMounts(&trace.ContainerInfo{
		ID: c.ID, Name: c.Name, Image: c.Image, Purpose: c.Purpose, Cmd: commandLine(c),
		Started: !opts.NeverStarts,
	}, c)})
	return c, nil
}

// createImage is the image a container is created from: the one the
// caller already resolved when it is still the image asked for, else the
// store's by name or ID; nil for a container without one.
func (e *Engine) createImage(opts ContainerCreateOptions) (*store.Image, error) {
	if opts.resolved != nil && opts.resolved.ID.String() == opts.Image {
		return opts.resolved, nil
	}
	if opts.Image == "" {
		return nil, nil
	}
	img, err := e.Store.Image(opts.Image)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) && !strings.HasPrefix(err.Error(), "No such image") {
			return nil, fmt.Errorf("No such image: %s: %w", familiarRef(opts.Image), err)
		}
		return nil, err
	}
	return img, nil
}

// newContainerRecord is a created container's record, with a fresh ID,
// before it has a network, a directory or a name claimed.
func newContainerRecord(cfg store.ContainerConfig, opts ContainerCreateOptions, chains []string, mounts []store.MountPoint) *store.Container {
	id := opts.id
	if id == "" {
		id = store.RandomID()
	}
	if opts.UTSMode == "host" {
		cfg.Hostname, _ = os.Hostname() // the host's, as the container sees it
	}
	if cfg.Hostname == "" {
		cfg.Hostname = id[:12]
	}
	purpose := opts.Purpose
	if purpose == "" {
		purpose = "run"
	}
	c := &store.Container{
		ID:            id,
		Name:          strings.TrimPrefix(opts.Name, "/"),
		Created:       time.Now().UTC(),
		ImageRef:      opts.Image,
		LayerChainIDs: chains,
		Purpose:       purpose,
		Config:        cfg,
		Host: store.HostConfig{
			NetworkMode: networkMode(opts.NetworkMode), Privileged: opts.Privileged,
			CapAdd: opts.CapAdd, CapDrop: opts.CapDrop, Memory: opts.Memory, PidsLimit: opts.PidsLimit,
			NanoCPUs: opts.NanoCPUs, Init: opts.Init, AutoRemove: opts.AutoRemove,
			ReadonlyRootfs: opts.ReadonlyRootfs, SecurityOpt: opts.SecurityOpt, GroupAdd: opts.GroupAdd,
			Binds: opts.Binds, MountSpecs: opts.MountSpecs, VolumesFrom: opts.VolumesFrom,
		},
		State:  store.ContainerState{Status: store.StatusCreated},
		Mounts: mounts,
	}
	applyExtraOptions(c, opts)
	return c
}

// storeNewContainer gives a new container its network and directory and
// claims its name and volumes under the store's lock; on failure nothing
// of it is left in the store.
func (e *Engine) storeNewContainer(c *store.Container, opts ContainerCreateOptions, imgCfg ocispec.ImageConfig, lowers []string) error {
	if c.Purpose != "run" {
		c.Builder, c.BuilderStart = supervisor()
	}
	if err := e.configureNetwork(c, opts.NetworkMode, opts.Net, imgCfg); err != nil {
		return err
	}
	err := e.prepareContainerDir(c, lowers, opts.staged)
	if err == nil {
		err = e.claimAndPut(c)
	}
	if err != nil {
		e.netFiles.Delete(c.ID)
		_ = e.Store.DeleteContainer(c.ID)
	}
	return err
}

// claimAndPut claims c's name and volumes and writes its record, under the
// store's lock: names are unique.
func (e *Engine) claimAndPut(c *store.Container) error {
	unlock, err := e.Store.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := e.claimName(c); err != nil {
		return err
	}
	if err := e.putWithVolumes(c); err != nil {
		_ = e.Store.ReleaseContainerName(c.Name, c.ID)
		return err
	}
	return nil
}

func requireRoot() error {
	if os.Geteuid() != 0 {
		return runtime.ErrNotRoot
	}
	return nil
}

func networkMode(m string) string {
	if m == "" || m == "default" {
		return "bridge"
	}
	return m
}

func validateHostOptions(opts ContainerCreateOptions) error {
	if _, err := runtime.Capabilities(runtime.Security{CapAdd: opts.CapAdd, CapDrop: opts.CapDrop}); err != nil {
		return err
	}
	if _, err := securityFromOpts(opts.SecurityOpt); err != nil {
		return err
	}
	if opts.Memory != 0 && opts.Memory < 6<<20 {
		return errors.New("Minimum memory limit allowed is 6MB")
	}
	if opts.NanoCPUs < 0 {
		return errors.New("range of CPUs is from 0.01 to the number of CPUs available")
	}
	return validateExtraOptions(opts)
}

func securityFromOpts(opts []string) (runtime.Security, error) {
	var sec runtime.Security
	for _, o := range opts {
		k, v, _ := strings.Cut(strings.Replace(o, ":", "=", 1), "=")
		switch {
		case k == "no-new-privileges" && (v == "" || v == "true"):
			sec.NoNewPrivileges = true
		case k == "no-new-privileges" && v == "false":
		case k == "seccomp" && v == "unconfined":
			sec.SeccompUnconfined = true
		case k == "apparmor" || k == "label":
			// No AppArmor or SELinux here: accepted and ignored, as
			// Docker does on hosts without them.
		default:
			return sec, fmt.Errorf("invalid --security-opt: %q (berth supports no-new-privileges and seccomp=unconfined)", o)
		}
	}
	return sec, nil
}

// mergeConfig combines the image's config with the options the way Docker's
// daemon does.
func mergeConfig(img ocispec.ImageConfig, opts ContainerCreateOptions) store.ContainerConfig {
	cfg := store.ContainerConfig{
		Hostname:   opts.Hostname,
		User:       opts.User,
		WorkingDir: opts.WorkingDir,
		Tty:        opts.Tty,
		OpenStdin:  opts.OpenStdin,
		StopSignal: img.StopSignal,
		Env:        opts.Env,
		Cmd:        opts.Cmd,
		Entrypoint: opts.Entrypoint,
		// The image's HEALTHCHECK is not copied: the daemon reads it at
		// each start, with this one's fields over it.
		Healthcheck: opts.Healthcheck,
	}
	// A build's metadata step passes the whole environment, its image's
	// with the step's change, and its record is never written or read:
	// merging the two (and copying the image's labels, below) cost the
	// environment's length on every ENV line, the labels' on every LABEL.
	if !opts.metadataOnly {
		cfg.Env = mergeEnv(img.Env, opts.Env)
	}
	if cfg.User == "" {
		cfg.User = img.User
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = img.WorkingDir
	}
	// The image's CMD is the default arguments of the image's ENTRYPOINT:
	// a new entrypoint drops it.
	if len(opts.Entrypoint) == 0 {
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = img.Cmd
		}
		if opts.Entrypoint == nil {
			cfg.Entrypoint = img.Entrypoint
		}
	}
	if opts.metadataOnly && len(opts.Labels) == 0 {
		cfg.Labels = img.Labels
	} else if len(img.Labels)+len(opts.Labels) > 0 {
		cfg.Labels = map[string]string{}
		for k, v := range img.Labels {
			cfg.Labels[k] = v
		}
		for k, v := range opts.Labels {
			cfg.Labels[k] = v
		}
	}
	return cfg
}

// mergeEnv returns base with overrides applied: KEY=value replaces base's
// KEY in place, new keys are appended.
func mergeEnv(base, overrides []string) []string {
	out := append([]string(nil), base...)
	// By key, so a build step (whose whole environment is both base and
	// overrides) costs its length, not its square.
	at := make(map[string]int, len(out))
	for i, have := range out {
		k, _, _ := strings.Cut(have, "=")
		if _, dup := at[k]; !dup {
			at[k] = i
		}
	}
	for _, kv := range overrides {
		key, _, _ := strings.Cut(kv, "=")
		if i, ok := at[key]; ok {
			out[i] = kv
			continue
		}
		at[key] = len(out)
		out = append(out, kv)
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// processEnv is what the container's process sees: Docker adds PATH (when
// the image has none), HOSTNAME and, with a terminal, TERM.
func processEnv(c *store.Container) []string {
	var env []string
	if !hasEnv(c.Config.Env, "PATH") {
		env = append(env, "PATH="+DefaultPath)
	}
	env = append(env, "HOSTNAME="+c.Config.Hostname)
	if c.Config.Tty {
		env = append(env, "TERM=xterm")
	}
	return mergeEnv(env, c.Config.Env)
}

func commandLine(c *store.Container) []string {
	return append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...)
}

func familiarRef(name string) string {
	if ref, err := store.ParseRef(name); err == nil {
		return store.Familiar(ref.String())
	}
	return name
}

// prepareContainerDir makes containers/<id>/: the snapshot over the init
// layer (mount points the runtime needs, kept out of the upper dir as
// Docker's "-init" layer does; one for the whole store, made once) and the
// image's layers, and the files bound onto /etc/hostname, /etc/hosts and
// /etc/resolv.conf, each written once: hosts and resolv.conf as a host or
// none container needs them at start (a bridge container's are written
// again once it has its address).
func (e *Engine) prepareContainerDir(c *store.Container, lowers []string, staged *stagedDir) error {
	initDir, err := e.Store.SharedLayerDir(initLayerName, runtime.WriteInitLayer)
	if err != nil {
		// A staged directory not taken is its builder's to remove
		// (buildBackend.CreateContainer).
		return fmt.Errorf("create container %s: %w", c.ShortID(), err)
	}
	// have: the /etc files a staged directory came with, written again
	// only where they differ.
	have, err := e.prepareSnapshot(c.ID, append([]string{initDir}, lowers...), staged)
	if err != nil {
		return fmt.Errorf("create container %s: %w", c.ShortID(), err)
	}
	dir := e.Store.ContainerDir(c.ID)
	if hostname := c.Config.Hostname + "\n"; have == nil || have["hostname"] != hostname {
		if err := rewriteInPlace(filepath.Join(dir, "hostname"), hostname); err != nil {
			return fmt.Errorf("create container %s: %w", c.ShortID(), err)
		}
	}
	hostResolv, _ := os.Stat(hostResolvConf)
	if err := e.writeNetFilesOver(c, nil, nil, have); err != nil {
		return err
	}
	if hostResolv != nil {
		e.netFiles.Store(c.ID, hostResolv)
	}
	return nil
}

// claimName gives c its name, generating one when empty; the caller holds
// the store's lock. The store's name index answers whether a name is
// taken with one entry and one record read, whatever the store holds.
func (e *Engine) claimName(c *store.Container) error {
	if c.Name != "" {
		holder, err := e.Store.ClaimContainerName(c.Name, c.ID)
		if err != nil {
			return err
		}
		if holder != "" {
			return nameConflict(c.Name, holder)
		}
		return nil
	}
	for i := 0; ; i++ {
		name := generateName(i >= 10)
		holder, err := e.Store.ClaimContainerName(name, c.ID)
		if err != nil {
			return err
		}
		if holder == "" {
			c.Name = name
			return nil
		}
	}
}

// nameConflict is Docker's error for a name another container has.
func nameConflict(name, holder string) error {
	return fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.: %w", name, holder, store.ErrConflict)
}

// ContainerPaths returns the container's upper dir and lower dirs (top
// first), for diff and commit.
func (e *Engine) ContainerPaths(id string) (upper string, lowers []string, err error) {
	c, err := e.Store.Container(id)
	if err != nil {
		return "", nil, err
	}
	snaps := snapshot.New(e.Store.ContainersDir())
	lowers, err = snaps.LowerDirs(c.ID)
	if err != nil {
		return "", nil, fmt.Errorf("container %s: %w", c.ShortID(), err)
	}
	return snaps.UpperDir(c.ID), lowers, nil
}

// ContainerChanges lists what the container changed in its filesystem, as
// docker diff: A added, C changed, D deleted.
func (e *Engine) ContainerChanges(id string) ([]layer.Change, error) {
	upper, lowers, err := e.ContainerPaths(id)
	if err != nil {
		return nil, err
	}
	return layer.Changes(upper, lowers)
}

// runtimeSpec turns a container record into what the runtime starts.
func (e *Engine) runtimeSpec(c *store.Container) (*runtime.Spec, error) {
	snaps := snapshot.New(e.Store.ContainersDir())
	mounts, err := snaps.Mounts(c.ID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ShortID(), err)
	}
	rootfs := make([]runtime.Mount, len(mounts))
	for i, m := range mounts {
		rootfs[i] = runtime.Mount{Source: m.Source, Type: m.Type, Data: m.Data(), Dir: m.Dir}
		if m.Type == "overlay" && upperDiscarded(c) {
			rootfs[i].Data += "," + ovl.Volatile
		}
	}
	if len(mounts) > 0 && mounts[0].Type == snapshot.FuseType {
		// fuse-overlayfs (rootless, no kernel overlayfs) is served from
		// berth's side, not from inside the container: the container
		// binds the mounted snapshot as its root.
		if _, err := snaps.Mount(c.ID); err != nil {
			return nil, fmt.Errorf("container %s: %w", c.ShortID(), err)
		}
		rootfs = nil
	}
	dir := e.Store.ContainerDir(c.ID)
	sec, err := securityFromOpts(c.Host.SecurityOpt)
	if err != nil {
		return nil, err
	}
	sec.Privileged, sec.CapAdd, sec.CapDrop = c.Host.Privileged, c.Host.CapAdd, c.Host.CapDrop
	volumes, err := e.runtimeVolumes(c)
	if err != nil {
		return nil, err
	}
	spec := &runtime.Spec{
		ID:           c.ID,
		Root:         snaps.MergedDir(c.ID),
		RootfsMounts: rootfs,
		Mounts: withoutUserMounts(c, []runtime.Mount{
			{Source: filepath.Join(dir, "hostname"), Destination: "/etc/hostname", Type: "bind"},
			{Source: filepath.Join(dir, "hosts"), Destination: "/etc/hosts", Type: "bind"},
			{Source: filepath.Join(dir, "resolv.conf"), Destination: "/etc/resolv.conf", Type: "bind"},
		}),
		Volumes:  volumes,
		Hostname: c.Config.Hostname,
		Network:  c.Host.NetworkMode,
		Process: runtime.Process{
			Args:             commandLine(c),
			Env:              processEnv(c),
			Cwd:              c.Config.WorkingDir,
			User:             c.Config.User,
			AdditionalGroups: c.Host.GroupAdd,
			Tty:              c.Config.Tty,
		},
		Security:       sec,
		Resources:      hostResources(c),
		Init:           c.Host.Init,
		ReadonlyRootfs: c.Host.ReadonlyRootfs,
	}
	if err := extraSpec(c, spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// upperDiscarded says nobody keeps what the container writes to its own
// file system beyond the commit berth makes of it: a build step's
// container, or one removed when it exits. Its overlay is mounted
// volatile: the kernel then skips the sync of the whole upper file system
// it otherwise runs when the container's last process exits (an ext4
// journal commit on every RUN step), and the container's own fsyncs of
// those files, which nothing reads after a crash. Volumes and binds are
// other mounts and keep their syncs; a step's layer is made durable by
// the store's batch sync as before (docs/containers.md).
func upperDiscarded(c *store.Container) bool {
	return c.Host.AutoRemove || c.Purpose == "build"
}

// AttachOptions say how StartAttached connects the container.
type AttachOptions struct {
	Stdio Stdio
	// ConsoleSize is the terminal's size (rows, columns), with a Tty.
	ConsoleSize [2]uint16
	// keepCgroupParents: a build's step, whose builder removes the berth
	// cgroup parents once at its end (runtime.Spec.KeepCgroupParents).
	keepCgroupParents bool
	// deferMountTeardown: a build's step, whose builder waits for the
	// container's mounts to go (AttachedContainer.waitMounts) before it
	// moves or removes the container's directories
	// (runtime.Spec.DeferMountTeardown).
	deferMountTeardown bool
	// spareNext: a build's step, after which another may follow: the ID
	// the next step's container will have (runtime.Spec.SpareNext). The
	// builder discards the spare at its end.
	spareNext string
	// afterStart, when set, runs once the container has started, while
	// its command runs (runContainer): a build stages its next step's
	// directory there (build_stage.go).
	afterStart func(*AttachedContainer)
}

// AttachedContainer is a container started by this process, which
// supervises it: it must call Wait, which records the exit.
type AttachedContainer struct {
	ID string

	e        *Engine
	ctx      context.Context
	c        *store.Container
	rc       *runtime.Container
	started  time.Time
	log      *jsonLog
	copyDone chan struct{}
	net      *netRun

	once sync.Once
	code int
	err  error
	// final is the record as Wait left it, and cgroupsGone says the
	// runtime removed the container's cgroups (see removeExited).
	final       *store.Container
	cgroupsGone bool
}

// StartAttached starts a created (or exited) container with its streams
// connected to opts.Stdio; with a terminal, the engine copies between the
// terminal and the streams (the caller sets its own terminal's mode).
func (e *Engine) StartAttached(ctx context.Context, id string, opts AttachOptions) (*AttachedContainer, error) {
	if err := requireRoot(); err != nil {
		return nil, err
	}
	c, unlock, err := e.lockForStart(id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.State.Running() {
		return nil, fmt.Errorf("container %s is already running", c.ShortID())
	}
	spec, err := e.runtimeSpec(c)
	if err != nil {
		return nil, err
	}
	spec.Process.ConsoleSize = opts.ConsoleSize
	spec.KeepCgroupParents = opts.keepCgroupParents
	// A --rm container is removed by its Wait (removeExited), whose
	// deletion of its files waits for the mounts: nothing else needs them.
	spec.DeferMountTeardown = opts.deferMountTeardown || c.Host.AutoRemove
	spec.SpareNext = opts.spareNext
	a := &AttachedContainer{ID: c.ID, e: e, ctx: context.WithoutCancel(ctx), c: c, copyDone: make(chan struct{})}
	if a.net, err = e.startNetwork(c, spec); err != nil {
		return nil, err
	}
	out, errOut, err := a.outputs(opts.Stdio)
	if err != nil {
		return nil, err
	}
	var rio runtime.IO
	if !c.Config.Tty {
		rio = runtime.IO{Stdin: opts.Stdio.In, Stdout: out, Stderr: errOut}
	}
	a.started = time.Now()
	rc, err := runtime.Start(spec, rio)
	if err != nil {
		a.net.close()
		a.log.Close()
		var se *runtime.StartError
		if errors.As(err, &se) {
			c.State.Error = se.Msg
			c.State.ExitCode = se.Code
			_ = e.Store.PutContainer(c)
		}
		return nil, err
	}
	a.rc = rc
	a.copyConsole(out, opts.Stdio.In)
	self, selfStart := supervisor()
	c.State = store.ContainerState{
		Status: store.StatusRunning, Pid: rc.Pid, PidStart: rc.StartTime, StartedAt: a.started.UTC(),
		Supervisor: self, SupervisorStart: selfStart,
	}
	if err := e.Store.PutContainer(c); err != nil {
		_ = rc.Signal(syscall.SIGKILL)
		_, _ = rc.Wait()
		<-a.copyDone
		a.log.Close()
		return nil, err
	}
	e.EmitContext(ctx, trace.Event{Type: trace.ContainerStart, Container: withNetAndMounts(&trace.ContainerInfo{
		ID: c.ID, Name: c.Name, Image: c.Image, Purpose: c.Purpose, Cmd: spec.Process.Args, Pid: rc.Pid,
	}, c)})
	return a, nil
}

// lockForStart finds the container to start, locks it and reads its
// record under the lock. A full ID (a build step's, run's) is locked and
// read at once: one read of the record instead of a lookup and a second
// read. A record that says running goes the long way, through refresh,
// which may find it dead and records that under the lock itself.
func (e *Engine) lockForStart(id string) (*store.Container, func(), error) {
	if len(id) == 64 {
		if unlock, err := e.Store.LockContainer(id); err == nil {
			c, err := e.Store.ReadContainer(id)
			if err == nil && !c.State.Running() {
				return c, unlock, nil
			}
			unlock()
		}
	}
	c, err := e.container(id)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := e.Store.LockContainer(c.ID)
	if err != nil {
		return nil, nil, err
	}
	if c, err = e.Store.ReadContainer(c.ID); err != nil {
		unlock()
		return nil, nil, err
	}
	return c, unlock, nil
}

// outputs opens the container's log when it keeps one and returns where
// its standard output and error go: the caller's streams, and the log.
func (a *AttachedContainer) outputs(stdio Stdio) (out, errOut io.Writer, err error) {
	c := a.c
	// Docker logs every container; berth skips build steps, which nobody
	// reads. A container removed on exit (--rm) logs too: a follower that
	// opened the log reads it to the end after the removal.
	if c.Purpose == "run" && c.Host.LogConfig.Type != LogDriverNone {
		if a.log, err = openJSONLog(a.e.Store.ContainerLogPath(c.ID), c.Host.LogConfig.Config); err != nil {
			return nil, nil, err
		}
	}
	out, errOut = orDiscard(stdio.Out), orDiscard(stdio.Err)
	if a.log != nil {
		out, errOut = io.MultiWriter(out, a.log.stream("stdout")), io.MultiWriter(errOut, a.log.stream("stderr"))
	}
	return out, errOut, nil
}

// copyConsole copies between a terminal container's console and the
// caller's streams; copyDone closes once the output is all copied (at
// once without a terminal: the runtime writes the streams itself).
func (a *AttachedContainer) copyConsole(out io.Writer, in io.Reader) {
	console := a.rc.Console()
	if console == nil {
		close(a.copyDone)
		return
	}
	go func() {
		_, _ = io.Copy(out, console) // ends with EIO when the container's side closes
		close(a.copyDone)
	}()
	if in != nil {
		go func() { _, _ = io.Copy(console, in) }()
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

var supervisor = sync.OnceValues(func() (int, uint64) {
	start, _ := runtime.ProcessStartTime(os.Getpid())
	return os.Getpid(), start
})

// waitMounts waits until the container's mount namespace is gone, which
// a build step's outlives its exit (AttachOptions.deferMountTeardown):
// before its upper dir becomes a layer or its directory is removed, no
// overlay may still be mounted on them.
func (a *AttachedContainer) waitMounts() {
	if a.rc != nil {
		a.rc.WaitMounts()
	}
}

// Pid is the container's PID 1 on the host.
func (a *AttachedContainer) Pid() int { return a.rc.Pid }

// Tty reports whether the container has a terminal.
func (a *AttachedContainer) Tty() bool { return a.rc.Console() != nil }

// Signal sends sig to the container's PID 1 (docker's signal proxy).
func (a *AttachedContainer) Signal(sig syscall.Signal) error { return a.rc.Signal(sig) }

// Resize changes the container's terminal size (rows, columns).
func (a *AttachedContainer) Resize(rows, cols uint16) error {
	if console := a.rc.Console(); console != nil {
		return runtime.SetConsoleSize(console, rows, cols)
	}
	return nil
}

// Wait waits for the container to exit, records its exit code, emits
// container.exit and, with AutoRemove, removes it. It returns the exit
// code: the process's, or 128 plus the signal that killed it.
func (a *AttachedContainer) Wait() (int, error) {
	a.once.Do(a.wait)
	return a.code, a.err
}

func (a *AttachedContainer) wait() {
	st, err := a.rc.Wait()
	a.net.close()
	<-a.copyDone
	if console := a.rc.Console(); console != nil {
		console.Close()
	}
	a.log.Close()
	finished := time.Now()
	a.code = st.Code
	// The runtime's Wait removed the cgroups unless it failed.
	a.cgroupsGone = err == nil
	if err != nil {
		a.err = err
	}
	exited := store.ContainerState{
		Status: store.StatusExited, ExitCode: st.Code, ExitKnown: true, OOMKilled: st.OOMKilled,
		StartedAt: a.started.UTC(), FinishedAt: finished.UTC(),
	}
	updated, uerr := a.e.Store.UpdateContainer(a.ID, func(c *store.Container) error {
		c.State = exited
		c.Net.Endpoints, c.Net.Ports = nil, nil
		return nil
	})
	a.final = withState(a.c, exited)
	if uerr == nil {
		a.final = updated
	} else if !errors.Is(uerr, store.ErrNotFound) {
		// The record still says running (a full disk, say): this
		// process knows better, and says so to refresh.
		unsavedExits.Store(a.ID, exited)
		if a.err == nil {
			a.err = fmt.Errorf("record the exit of container %s: %w", a.c.ShortID(), uerr)
		}
	}
	code := st.Code
	a.e.EmitContext(a.ctx, trace.Event{Type: trace.ContainerExit, Container: &trace.ContainerInfo{
		ID: a.ID, Name: a.c.Name, Image: a.c.Image, Purpose: a.c.Purpose, ExitCode: &code,
		DurationMS: finished.Sub(a.started).Milliseconds(),
	}})
	if a.c.Host.AutoRemove {
		err := uerr // ErrNotFound: removed by another process already
		if !errors.Is(uerr, store.ErrNotFound) {
			err = a.e.removeExited(a.ctx, a.final, a.cgroupsGone, a.waitMounts)
		}
		if err != nil && a.err == nil {
			a.err = err
		}
	}
}

// RunContainer starts the container attached to stdio, waits for it and
// records its exit: a build step's RUN. Cancelling ctx kills the container.
func (e *Engine) RunContainer(ctx context.Context, id string, stdio Stdio) (exitCode int, err error) {
	code, _, err := e.runContainer(ctx, id, AttachOptions{Stdio: stdio})
	return code, err
}

// runContainer is RunContainer that also returns the finished container,
// which removeExited can remove without looking it up again.
func (e *Engine) runContainer(ctx context.Context, id string, opts AttachOptions) (int, *AttachedContainer, error) {
	a, err := e.StartAttached(ctx, id, opts)
	if err != nil {
		return 0, nil, err
	}
	if opts.afterStart != nil {
		opts.afterStart(a)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = a.Signal(syscall.SIGKILL)
		case <-done:
		}
	}()
	code, err := a.Wait()
	if err == nil && ctx.Err() != nil {
		err = ctxErr(ctx)
	}
	return code, a, err
}

// container finds a container by ID, ID prefix or name, with its state
// brought up to date (see refresh).
func (e *Engine) container(idOrName string) (*store.Container, error) {
	c, err := e.Store.Container(idOrName)
	if err != nil {
		return nil, err
	}
	return e.refresh(c), nil
}

// refresh checks a running container against the kernel. When its process
// is gone and so is the berth process that supervised it (berth or the
// machine was killed), nobody will record the exit: the container is marked
// exited with an unknown code and its leftovers (a host mount, cgroups) are
// removed.
func (e *Engine) refresh(c *store.Container) *store.Container {
	if !c.State.Running() || runtime.ProcessAlive(c.State.Pid, c.State.PidStart) {
		return c
	}
	sup := c.State.Supervisor
	if sup != 0 && sup != os.Getpid() && runtime.ProcessAlive(sup, c.State.SupervisorStart) {
		// The supervisor is about to record the exit: give it a moment.
		for i := 0; i < 100; i++ {
			time.Sleep(5 * time.Millisecond)
			if now, err := e.Store.ReadContainer(c.ID); err == nil && !now.State.Running() {
				return now
			}
		}
	}
	if sup == os.Getpid() {
		if st, ok := unsavedExits.Load(c.ID); ok {
			return withState(c, st.(store.ContainerState))
		}
		return c // this process's Wait records it
	}
	lost := store.ContainerState{Status: store.StatusExited, ExitCode: 255, StartedAt: c.State.StartedAt, FinishedAt: time.Now().UTC()}
	updated, err := e.Store.UpdateContainer(c.ID, func(now *store.Container) error {
		if !now.State.Running() || runtime.ProcessAlive(now.State.Pid, now.State.PidStart) {
			return errNoChange
		}
		now.State = lost
		return nil
	})
	if err != nil && updated != nil {
		return updated // errNoChange: the record is right
	}
	_ = snapshot.New(e.Store.ContainersDir()).Unmount(c.ID)
	_ = runtime.CgroupFor("", c.ID).Destroy()
	if err != nil {
		// The record cannot be written (a full disk): the kernel's word
		// wins, so a dead container never shows as Up and rm -f goes on.
		return withState(c, lost)
	}
	return updated
}

// unsavedExits holds, by container ID, the exit this process saw but could
// not write into the record (the store's disk is full).
var unsavedExits sync.Map

// withState is a copy of c in state st.
func withState(c *store.Container, st store.ContainerState) *store.Container {
	cp := *c
	cp.State = st
	return &cp
}

var errNoChange = errors.New("no change")

// ListContainers lists containers newest first, with their state brought up
// to date; only running (and paused) ones unless all.
func (e *Engine) ListContainers(ctx context.Context, all bool) ([]*store.Container, error) {
	list, err := e.Store.Containers()
	if err != nil {
		return nil, err
	}
	var out []*store.Container
	for _, c := range list {
		c = e.refresh(c)
		if all || c.State.Running() {
			out = append(out, c)
		}
	}
	return out, nil
}

// Container returns one container, its state up to date.
func (e *Engine) Container(ctx context.Context, idOrName string) (*store.Container, error) {
	return e.container(idOrName)
}

// StartContainer starts a container detached (docker start, docker run
// -d): a supervising berth process (the shim) starts it, keeps its output
// in the container's log and records its exit. It returns once the
// container's process runs, or with the reason it could not start.
// Starting a running container does nothing.
func (e *Engine) StartContainer(ctx context.Context, id string) error {
	if err := requireRoot(); err != nil {
		return err
	}
	c, err := e.container(id)
	if err != nil {
		return err
	}
	if c.State.Running() {
		return nil
	}
	return e.startShim(ctx, c)
}

// awaitExitRecord waits until the container's record shows it stopped:
// its supervisor writes that right after the process exits.
func (e *Engine) awaitExitRecord(ctx context.Context, id string) (*store.Container, error) {
	for i := 0; ; i++ {
		c, err := e.Store.ReadContainer(id)
		if err != nil {
			return nil, err
		}
		c = e.refresh(c)
		if !c.State.Running() {
			return c, nil
		}
		if err := ctx.Err(); err != nil {
			return c, ctxErr(ctx)
		}
		time.Sleep(time.Duration(min(i+1, 20)) * time.Millisecond)
	}
}

// UseStopTimeout, as StopContainer's timeout, waits as long as the
// container's own stop timeout says (--stop-timeout, else 10 seconds).
const UseStopTimeout time.Duration = math.MinInt64

// StopContainer stops a running container as docker stop: its stop signal
// (SIGTERM unless the image says otherwise), then after timeout SIGKILL.
// A negative timeout waits forever; UseStopTimeout uses the container's.
// Stopping a stopped container does nothing.
func (e *Engine) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	c, err := e.container(id)
	if err != nil {
		return err
	}
	if !c.State.Running() {
		return nil
	}
	if timeout == UseStopTimeout {
		timeout = time.Duration(stopTimeoutOf(c)) * time.Second
		if stopTimeoutOf(c) < 0 {
			timeout = -1
		}
	}
	sig := syscall.SIGTERM
	if c.Config.StopSignal != "" {
		if s, err := ParseSignal(c.Config.StopSignal); err == nil {
			sig = s
		}
	}
	pid, start := c.State.Pid, c.State.PidStart
	if err := runtime.Kill(pid, start, sig); err != nil && !errors.Is(err, runtime.ErrNotRunning) {
		return fmt.Errorf("stop container %s: %w", c.ShortID(), err)
	}
	cg := runtime.CgroupFor("", c.ID)
	if c.State.Status == store.StatusPaused {
		_ = cg.Thaw() // a frozen process cannot act on the signal
	}
	if !runtime.WaitExit(pid, start, timeout) {
		_ = runtime.Kill(pid, start, syscall.SIGKILL)
		_ = cg.Thaw()
		runtime.WaitExit(pid, start, -1)
	}
	_, err = e.awaitExitRecord(ctx, c.ID)
	return err
}

// KillContainer sends a signal ("KILL", "SIGTERM", "9") to a running
// container's PID 1, as docker kill.
func (e *Engine) KillContainer(ctx context.Context, id string, signal string) error {
	if signal == "" {
		signal = "KILL"
	}
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	c, err := e.container(id)
	if err != nil {
		return err
	}
	if !c.State.Running() {
		return fmt.Errorf("cannot kill container: %s: container %s is not running: %w", id, c.ShortID(), ErrNotRunning)
	}
	if err := runtime.Kill(c.State.Pid, c.State.PidStart, sig); err != nil {
		if errors.Is(err, runtime.ErrNotRunning) {
			return fmt.Errorf("cannot kill container: %s: container %s is not running: %w", id, c.ShortID(), ErrNotRunning)
		}
		return err
	}
	if sig == syscall.SIGKILL {
		if c.State.Status == store.StatusPaused {
			_ = runtime.CgroupFor("", c.ID).Thaw()
		}
		runtime.WaitExit(c.State.Pid, c.State.PidStart, 10*time.Second)
		_, err = e.awaitExitRecord(ctx, c.ID)
	}
	return err
}

// RemoveContainer removes a container, its snapshot, log and record. A
// running container is refused unless force, which kills it first. A
// container run with --rm, and a build step's, take their anonymous
// volumes along, as Docker's.
func (e *Engine) RemoveContainer(ctx context.Context, id string, force bool) error {
	return e.RemoveContainerVolumes(ctx, id, force, false)
}

// RemoveContainerVolumes is RemoveContainer that, with volumes (rm -v),
// also removes the container's anonymous volumes no other container uses.
func (e *Engine) RemoveContainerVolumes(ctx context.Context, id string, force, volumes bool) error {
	if v, ok := e.metadataContainers.LoadAndDelete(id); ok {
		c := v.(*store.Container)
		e.EmitContext(ctx, trace.Event{Type: trace.ContainerRemove, Container: &trace.ContainerInfo{
			ID: c.ID, Name: c.Name, Image: c.Image, Purpose: c.Purpose,
		}})
		return nil
	}
	c, err := e.container(id)
	if err != nil {
		return err
	}
	if c.State.Running() {
		if !force {
			return fmt.Errorf("cannot remove container \"/%s\": container is running: stop the container before removing or force remove: %w", c.Name, ErrRunning)
		}
		_ = runtime.Kill(c.State.Pid, c.State.PidStart, syscall.SIGKILL)
		_ = runtime.CgroupFor("", c.ID).Thaw()
		runtime.WaitExit(c.State.Pid, c.State.PidStart, 10*time.Second)
		if c, err = e.awaitExitRecord(ctx, c.ID); err != nil {
			return err
		}
	}
	if err := snapshot.New(e.Store.ContainersDir()).Unmount(c.ID); err != nil {
		return err
	}
	started := !c.State.StartedAt.IsZero()
	if started {
		// Its supervisor may have been killed before cleaning up.
		_ = runtime.CgroupFor("", c.ID).Destroy()
		if onBridge(c) {
			e.sweepNetworks()
		}
	}
	if err := e.Store.DeleteContainer(c.ID); err != nil {
		return err
	}
	e.removed(ctx, c, volumes)
	return nil
}

// onBridge reports whether the container's network mode is a bridge
// network, whose endpoints a killed supervisor leaves for the sweep.
func onBridge(c *store.Container) bool {
	switch c.Host.NetworkMode {
	case "", network.Host, network.None:
		return false
	}
	return true
}

// removeExited removes a container whose exit this process's Wait saw and
// cleaned up after: a --rm container, a build step's. It skips what
// RemoveContainer does for a container of unknown fate: finding it among
// every record and refreshing its state, removing the cgroups the runtime
// already removed (cgroupsGone), sweeping the networks for what killed
// containers left (this one released its endpoints in Wait). c is the
// record as Wait wrote it. mountsGone, when not nil, waits until the
// container's mounts are gone: its files are deleted after it.
func (e *Engine) removeExited(ctx context.Context, c *store.Container, cgroupsGone bool, mountsGone func()) error {
	if err := snapshot.New(e.Store.ContainersDir()).Unmount(c.ID); err != nil {
		return err
	}
	if !cgroupsGone {
		_ = runtime.CgroupFor("", c.ID).Destroy()
	}
	if err := e.Store.DeleteContainerAfter(c.ID, mountsGone); err != nil {
		return err
	}
	e.removed(ctx, c, false)
	return nil
}

// removed finishes a removal once the container's directory is gone: its
// anonymous volumes (rm -v, --rm, a build step's), what this process kept
// about it, and the trace event.
func (e *Engine) removed(ctx context.Context, c *store.Container, volumes bool) {
	if volumes || c.Host.AutoRemove || c.Purpose == "build" {
		e.removeAnonymousVolumes(c)
	}
	unsavedExits.Delete(c.ID)
	e.netFiles.Delete(c.ID)
	e.EmitContext(ctx, trace.Event{Type: trace.ContainerRemove, Container: &trace.ContainerInfo{
		ID: c.ID, Name: c.Name, Image: c.Image, Purpose: c.Purpose,
	}})
}

// PauseContainer freezes every process of a running container (docker
// pause) with the cgroup freezer.
func (e *Engine) PauseContainer(ctx context.Context, id string) error {
	c, err := e.container(id)
	if err != nil {
		return err
	}
	switch c.State.Status {
	case store.StatusPaused:
		return fmt.Errorf("Container %s is already paused", c.ID)
	case store.StatusRunning:
	default:
		return fmt.Errorf("container %s is not running: %w", c.ID, ErrNotRunning)
	}
	if err := runtime.CgroupFor("", c.ID).Freeze(); err != nil {
		return fmt.Errorf("pause container %s: %w", c.ShortID(), err)
	}
	if _, err := e.Store.UpdateContainer(c.ID, func(now *store.Container) error {
		if now.State.Status == store.StatusRunning {
			now.State.Status = store.StatusPaused
		}
		return nil
	}); err != nil {
		return err
	}
	e.EmitContext(ctx, trace.Event{Type: trace.ContainerPause, Container: &trace.ContainerInfo{ID: c.ID, Name: c.Name, Purpose: c.Purpose}})
	return nil
}

// UnpauseContainer thaws a paused container.
func (e *Engine) UnpauseContainer(ctx context.Context, id string) error {
	c, err := e.container(id)
	if err != nil {
		return err
	}
	if c.State.Status != store.StatusPaused {
		return fmt.Errorf("Container %s is not paused", c.ID)
	}
	if err := runtime.CgroupFor("", c.ID).Thaw(); err != nil {
		return fmt.Errorf("unpause container %s: %w", c.ShortID(), err)
	}
	if _, err := e.Store.UpdateContainer(c.ID, func(now *store.Container) error {
		if now.State.Status == store.StatusPaused {
			now.State.Status = store.StatusRunning
		}
		return nil
	}); err != nil {
		return err
	}
	e.EmitContext(ctx, trace.Event{Type: trace.ContainerResume, Container: &trace.ContainerInfo{ID: c.ID, Name: c.Name, Purpose: c.Purpose}})
	return nil
}

// WaitContainer blocks until the container stops and returns its exit
// code, as docker wait. A container that never started returns 0 at once.
func (e *Engine) WaitContainer(ctx context.Context, id string) (int, error) {
	c, err := e.container(id)
	if err != nil {
		return 0, err
	}
	if c.State.Running() {
		done := make(chan struct{})
		go func() {
			runtime.WaitExit(c.State.Pid, c.State.PidStart, -1)
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			return 0, ctxErr(ctx)
		}
		if c, err = e.awaitExitRecord(ctx, c.ID); err != nil {
			return 0, err
		}
	}
	return c.State.ExitCode, nil
}

// ExecOptions are docker exec's.
type ExecOptions struct {
	Cmd         []string
	Env         []string // added to the container's
	WorkingDir  string   // "" is the container's
	User        string   // "" is the container's
	Tty         bool
	Privileged  bool
	ConsoleSize [2]uint16
	Stdio       Stdio
}

// ExecProcess is a process started in a running container.
type ExecProcess struct {
	rc       *runtime.Container
	copyDone chan struct{}
	once     sync.Once
	code     int
	err      error
}

// ExecContainer starts a process inside a running container: it joins the
// container's namespaces and cgroups, with the container's privileges.
func (e *Engine) ExecContainer(ctx context.Context, id string, opts ExecOptions) (*ExecProcess, error) {
	if err := requireRoot(); err != nil {
		return nil, err
	}
	c, err := e.container(id)
	if err != nil {
		return nil, err
	}
	switch c.State.Status {
	case store.StatusRunning:
	case store.StatusPaused:
		return nil, fmt.Errorf("container %s is paused, unpause the container before exec", c.ID)
	default:
		return nil, fmt.Errorf("container %s is not running: %w", c.ID, ErrNotRunning)
	}
	if len(opts.Cmd) == 0 {
		return nil, errors.New("no command specified")
	}
	sec, err := securityFromOpts(c.Host.SecurityOpt)
	if err != nil {
		return nil, err
	}
	sec.Privileged = c.Host.Privileged || opts.Privileged
	sec.CapAdd, sec.CapDrop = c.Host.CapAdd, c.Host.CapDrop
	user, cwd := c.Config.User, c.Config.WorkingDir
	if opts.User != "" {
		user = opts.User
	}
	if opts.WorkingDir != "" {
		cwd = opts.WorkingDir
	}
	env := processEnv(c)
	if opts.Tty && !hasEnv(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	spec := &runtime.Spec{
		ID: c.ID,
		Process: runtime.Process{
			Args: opts.Cmd, Env: mergeEnv(env, opts.Env), Cwd: cwd, User: user,
			AdditionalGroups: c.Host.GroupAdd, Tty: opts.Tty, ConsoleSize: opts.ConsoleSize,
		},
		Security: sec,
	}
	out, errOut := orDiscard(opts.Stdio.Out), orDiscard(opts.Stdio.Err)
	var rio runtime.IO
	if !opts.Tty {
		rio = runtime.IO{Stdin: opts.Stdio.In, Stdout: out, Stderr: errOut}
	}
	rc, err := runtime.Exec(c.State.Pid, c.State.PidStart, spec, rio)
	if err != nil {
		if errors.Is(err, runtime.ErrNotRunning) {
			return nil, fmt.Errorf("container %s is not running: %w", c.ID, ErrNotRunning)
		}
		return nil, err
	}
	p := &ExecProcess{rc: rc, copyDone: make(chan struct{})}
	if console := rc.Console(); console != nil {
		go func() {
			_, _ = io.Copy(out, console)
			close(p.copyDone)
		}()
		if opts.Stdio.In != nil {
			go func() { _, _ = io.Copy(console, opts.Stdio.In) }()
		}
	} else {
		close(p.copyDone)
	}
	return p, nil
}

// Pid is the exec'd process's host PID.
func (p *ExecProcess) Pid() int { return p.rc.Pid }

// Signal sends sig to the process.
func (p *ExecProcess) Signal(sig syscall.Signal) error { return p.rc.Signal(sig) }

// Resize changes the process's terminal size (rows, columns).
func (p *ExecProcess) Resize(rows, cols uint16) error {
	if console := p.rc.Console(); console != nil {
		return runtime.SetConsoleSize(console, rows, cols)
	}
	return nil
}

// Wait waits for the process and returns its exit code.
func (p *ExecProcess) Wait() (int, error) {
	p.once.Do(func() {
		st, err := p.rc.Wait()
		<-p.copyDone
		if console := p.rc.Console(); console != nil {
			console.Close()
		}
		p.code, p.err = st.Code, err
	})
	return p.code, p.err
}

// PruneContainers removes every stopped container, as docker container
// prune, and returns their IDs and the bytes their upper dirs held. That
// includes the intermediate containers of a build whose berth process is
// gone (killed mid-step), never those of a build still running.
func (e *Engine) PruneContainers(ctx context.Context) (removed []string, reclaimed int64, err error) {
	list, err := e.ListContainers(ctx, true)
	if err != nil {
		return nil, 0, err
	}
	for _, c := range list {
		if c.State.Running() || (c.Purpose != "run" && runtime.ProcessAlive(c.Builder, c.BuilderStart)) {
			continue // a build in progress owns its intermediate containers
		}
		size := dirSize(snapshot.New(e.Store.ContainersDir()).UpperDir(c.ID))
		if err := e.RemoveContainer(ctx, c.ID, false); err != nil {
			if errors.Is(err, ErrRunning) || errors.Is(err, store.ErrNotFound) {
				continue // started or removed meanwhile
			}
			return removed, reclaimed, err
		}
		removed = append(removed, c.ID)
		reclaimed += size
	}
	return removed, reclaimed, nil
}

// ContainerSize is the bytes of the container's upper dir: what it wrote.
func (e *Engine) ContainerSize(id string) int64 {
	return dirSize(snapshot.New(e.Store.ContainersDir()).UpperDir(id))
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// ParseSignal parses "KILL", "SIGKILL", "kill" or "9".
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := parseUint(s); err == nil {
		if n == 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal: %s", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(s), "SIG"))
	if sig := signalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal: %s", s)
}

func parseUint(s string) (uint64, error) {
	var n uint64
	if s == "" {
		return 0, errors.New("empty")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + uint64(r-'0')
		if n > 1<<20 {
			return 0, errors.New("too large")
		}
	}
	return n, nil
}

// ContainerGraphDriver is the container's file system as Docker's inspect
// shows it under GraphDriver.Data (driver overlay2): the image's layer
// dirs (top first, with the container's init layer on top), and the
// container's upper, work and merged dirs.
func (e *Engine) ContainerGraphDriver(c *store.Container) map[string]string {
	snaps := snapshot.New(e.Store.ContainersDir())
	// The snapshot's links name its init layer (the store's shared one, or
	// its own from an older berth); without them, the record's chains do.
	lowers, err := snaps.LowerDirs(c.ID)
	if err != nil {
		lowers = []string{filepath.Join(e.Store.LayersDir(), "."+initLayerName)}
		for i := len(c.LayerChainIDs) - 1; i >= 0; i-- {
			chain := c.LayerChainIDs[i]
			if !strings.HasPrefix(chain, "sha256:") {
				chain = "sha256:" + chain
			}
			lowers = append(lowers, e.Store.LayerDir(digest.Digest(chain)))
		}
	}
	return map[string]string{
		"LowerDir":  strings.Join(lowers, ":"),
		"UpperDir":  snaps.UpperDir(c.ID),
		"WorkDir":   snaps.WorkDir(c.ID),
		"MergedDir": snaps.MergedDir(c.ID),
	}
}
