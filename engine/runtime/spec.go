package runtime

import (
	"errors"
	"fmt"
	"io"
	"syscall"
)

// InitVerb is the first argument of a container's init (berth-init, or a
// test binary that is its own init). A binary that can be the init routes
// it to Init before parsing flags:
//
//	if len(args) > 0 && args[0] == runtime.InitVerb { return runtime.Init(args[1:]) }
const InitVerb = "__berth_init"

// ExecName is argv[0] of the re-executed process. Tests run berth through
// testscript, which picks the command to run by argv[0], so it must be
// "berth".
const ExecName = "berth"

// Spec describes a container to start: its root filesystem, mounts,
// identity, process, privileges and resources. It crosses the re-exec
// boundary in the encoding of initmsg_linux.go (every field but Prestart).
type Spec struct {
	// ID is the container's 64-hex ID; it names the container's cgroups.
	ID string `json:"id"`
	// Root is the absolute path of the directory that becomes the
	// container's /: the snapshot's merged dir.
	Root string `json:"root"`
	// RootfsMounts are mounted on Root inside the container's own mount
	// namespace (so they disappear with it and never leak on the host).
	// Empty means Root already holds the root filesystem.
	RootfsMounts []Mount `json:"rootfs_mounts,omitempty"`
	// Mounts are bind mounts into the container (Destination inside it),
	// made after the system mounts and Volumes: /etc/hostname, /etc/hosts,
	// /etc/resolv.conf.
	Mounts []Mount `json:"mounts,omitempty"`
	// Volumes are the container's binds, volumes and tmpfs mounts, parents
	// first (volumes_linux.go); they are made before Mounts.
	Volumes []Mount `json:"volumes,omitempty"`
	// Hostname defaults to the first 12 characters of ID.
	Hostname string `json:"hostname,omitempty"`
	// Network is "host" (the host's network namespace, the default),
	// "none" (a namespace of its own with only lo, up) or "bridge" (a
	// namespace of its own that Prestart connects).
	Network string `json:"network,omitempty"`
	// Prestart, when set, runs in the parent once the container's
	// namespaces exist, while its init builds the container and before
	// the process runs, with the container's host PID: the engine plugs
	// its network in there. A file it rewrites that the init bind-mounts
	// (Mounts) must be rewritten in place: the mount may already hold it.
	// An error aborts the start.
	Prestart func(pid int) error `json:"-"`
	// Process is what runs as the container's PID 1 (or under Init).
	Process Process `json:"process"`
	// Security: capabilities, seccomp, masked paths.
	Security Security `json:"security"`
	// Resources are the cgroup limits.
	Resources Resources `json:"resources"`
	// Init runs a minimal init as PID 1 that starts Process, forwards
	// signals to it and reaps zombies (docker run --init).
	Init bool `json:"init,omitempty"`
	// ReadonlyRootfs mounts / read-only (docker run --read-only).
	ReadonlyRootfs bool `json:"readonly_rootfs,omitempty"`
	// HostPID, HostUTS and HostIPC keep the host's PID, UTS and IPC
	// namespaces instead of new ones (docker run --pid host, --uts host,
	// --ipc host). With HostUTS the hostname is the host's and is not set.
	HostPID bool `json:"host_pid,omitempty"`
	HostUTS bool `json:"host_uts,omitempty"`
	HostIPC bool `json:"host_ipc,omitempty"`
	// CgroupParent is the cgroup under which the container's cgroup
	// <CgroupParent>/<ID> is made; "berth" when empty.
	CgroupParent string `json:"cgroup_parent,omitempty"`
	// KeepCgroupParents leaves the berth parents of the container's cgroup
	// in place when Wait removes the cgroup: a build's steps start one
	// container after another under the same parent, which would otherwise
	// be removed and made again for every step. The caller removes them
	// once it is done (RemoveCgroupParents); a killed caller's empty
	// parents go with the next container's removal (Destroy).
	KeepCgroupParents bool `json:"-"`
	// DeferMountTeardown keeps the container's mount namespace (its
	// overlay root, /proc, /sys, /dev ...) alive past its last process's
	// exit, through a descriptor the parent holds, and lets it go in the
	// background once Wait has seen the exit: the kernel's teardown of
	// those mounts (with an RCU grace period) then runs on the parent's
	// other thread instead of inside the exit that Wait waits for. The
	// caller must call (*Container).WaitMounts before it moves or deletes
	// the overlay's upper or work directory. For a build's steps.
	DeferMountTeardown bool `json:"-"`
	// SpareNext, when set, is the ID of a next container: as this one
	// starts, Start starts that container's init ahead, in its cgroup and
	// with this container's namespaces and resources (a spare, see
	// spare_linux.go), so that its clone, execve and Go start-up overlap
	// this container's run; the Start of the container with that ID takes
	// it if it fits. The caller must call DiscardSpare when no container
	// follows. For a build's steps.
	SpareNext string `json:"-"`
}

// Process is the program a container (or an exec) runs.
type Process struct {
	// Args is argv; Args[0] is looked up in the PATH of Env when it has no
	// slash, as execvp does.
	Args []string `json:"args"`
	// Env is the complete environment ("KEY=value").
	Env []string `json:"env,omitempty"`
	// Cwd is the working directory inside the container, "/" when empty.
	// It is created when missing, like Docker's WORKDIR.
	Cwd string `json:"cwd,omitempty"`
	// User is "", "name", "uid", "name:group", "uid:gid", resolved with
	// the container's /etc/passwd and /etc/group.
	User string `json:"user,omitempty"`
	// AdditionalGroups are added to the user's supplementary groups
	// (docker run --group-add), by name or number.
	AdditionalGroups []string `json:"additional_groups,omitempty"`
	// Tty gives the process a pseudo-terminal allocated inside the
	// container; its master is Container.Console.
	Tty bool `json:"tty,omitempty"`
	// ConsoleSize is the terminal's initial size (rows, columns), when Tty.
	ConsoleSize [2]uint16 `json:"console_size,omitempty"`
}

// Security holds the privilege settings. The zero value is Docker's
// default: its 14 capabilities, its seccomp profile, its masked and
// read-only paths, no_new_privs off.
type Security struct {
	// Privileged keeps every capability, turns seccomp off, masks nothing
	// and mounts /sys read-write.
	Privileged bool `json:"privileged,omitempty"`
	// CapAdd and CapDrop change the default set ("NET_ADMIN", "CAP_SYS_TIME",
	// "ALL"), as docker run --cap-add/--cap-drop.
	CapAdd  []string `json:"cap_add,omitempty"`
	CapDrop []string `json:"cap_drop,omitempty"`
	// NoNewPrivileges sets no_new_privs (--security-opt no-new-privileges).
	NoNewPrivileges bool `json:"no_new_privileges,omitempty"`
	// SeccompUnconfined turns the default seccomp profile off
	// (--security-opt seccomp=unconfined).
	SeccompUnconfined bool `json:"seccomp_unconfined,omitempty"`
}

// Resources are cgroup limits; zero means unlimited.
type Resources struct {
	Memory    int64 `json:"memory,omitempty"`     // bytes (--memory)
	PidsLimit int64 `json:"pids_limit,omitempty"` // processes (--pids-limit); negative is unlimited
	NanoCPUs  int64 `json:"nano_cpus,omitempty"`  // 1e9 = one CPU (--cpus)
	// CPUShares is the relative CPU weight (--cpu-shares, 1024 is the
	// default): cpu.shares on cgroup v1, cpu.weight on v2.
	CPUShares int64 `json:"cpu_shares,omitempty"`
	// CpusetCpus and CpusetMems pin the container to CPUs and memory nodes
	// ("0-2,4"; --cpuset-cpus, --cpuset-mems).
	CpusetCpus string `json:"cpuset_cpus,omitempty"`
	CpusetMems string `json:"cpuset_mems,omitempty"`
}

// Mount is one mount(2): Source on Destination (inside the container; for
// RootfsMounts, Destination is ignored and Root is the target).
type Mount struct {
	Source      string  `json:"source"`
	Destination string  `json:"destination,omitempty"`
	Type        string  `json:"type,omitempty"` // "bind" or a filesystem type
	Flags       uintptr `json:"flags,omitempty"`
	Data        string  `json:"data,omitempty"`
	// Dir is the working directory for the mount, against which relative
	// paths in Data resolve (overlay lower dirs).
	Dir string `json:"dir,omitempty"`
	// ReadOnly remounts a bind mount read-only.
	ReadOnly bool `json:"readonly,omitempty"`
	// Propagation is a bind's mount propagation: "rprivate" (the default),
	// "private", "rslave", "slave", "rshared", "shared".
	Propagation string `json:"propagation,omitempty"`
}

// IO is a container's standard streams. Nil means /dev/null. When the
// process has a Tty these are unused: the caller copies to and from
// Container.Console.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// StartError is a failure to start the container's process, with the exit
// code Docker gives it: 127 when the command is not found, 126 when it
// cannot be invoked, 125 for everything else.
type StartError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

func (e *StartError) Error() string { return e.Msg }

// Message is the failure in Docker's words, the one wording berth run,
// start and the daemon give it: a command that cannot be found or invoked
// carries the prefix dockerd puts before the runtime's reason.
func (e *StartError) Message() string {
	if e.Code == CodeNotFound || e.Code == CodeCannotRun {
		return "failed to create task for container: unable to start container process: " + e.Msg
	}
	return e.Msg
}

// Exit codes Docker uses for its own failures.
const (
	CodeEngine      = 125 // the engine failed: bad option, unknown user, no such image
	CodeCannotRun   = 126 // the command cannot be invoked: permission denied, a directory
	CodeNotFound    = 127 // the command does not exist
	exitCodeUnknown = 255
)

// ErrNotRoot is returned when the engine runs without root.
var ErrNotRoot = errors.New("running containers needs root: run berth as root (sudo berth ...); lessons replay recorded traces without it")

// ErrNotRunning is returned by operations on a process that has exited.
var ErrNotRunning = errors.New("container process is not running")

// startErrorf makes a StartError with a formatted message.
func startErrorf(code int, format string, args ...any) *StartError {
	return &StartError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// execErrorCode maps an exec failure to Docker's exit code, the way the
// docker CLI does: "not found" → 127, permission or directory → 126.
func execErrorCode(err error) int {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, errExecNotFound):
		return CodeNotFound
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOEXEC):
		return CodeCannotRun
	}
	return CodeEngine
}

var errExecNotFound = errors.New("executable file not found in $PATH")

// ExitStatus is how a process ended, as a shell reports it: its exit code,
// or 128 plus the signal that killed it.
type ExitStatus struct {
	Code   int            `json:"code"`
	Signal syscall.Signal `json:"signal,omitempty"`
	// OOMKilled is set when the kernel killed a process of the container
	// for exceeding its memory limit.
	OOMKilled bool `json:"oom_killed,omitempty"`
}
