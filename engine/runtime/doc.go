// Package runtime runs containers: processes in their own mount, PID, UTS
// and IPC namespaces (and network, with Network "none"), on an overlay root
// they pivot into, with Docker's default privileges and cgroup limits.
//
// # The re-exec boundary
//
// A container's init is berth-init (cmd/berth-init), a small binary beside
// berth that links only this package; a Go test binary is its own init
// (initBinary). The parent side is Start (and Exec, for docker exec); the
// child side is Init, which runs when the first argument is InitVerb:
//
//	parent (Start)                          child (Init), PID 1 in new namespaces
//	──────────────                          ─────────────────────────────────────
//	open berth-init read-only (sealed)
//	create cgroups, write limits
//	seccomp program (precompiled, or
//	  compiled meanwhile)
//	clone3 into the v2 cgroup,
//	  exec /proc/self/fd/5 ──────────────►  lock to one thread, become undumpable
//	add the child to v1 cgroups             read the spec from fd 3
//	send the spec (binary) on fd 3 ──────►  mount --make-rslave /
//	Prestart: connect the network           mount the overlay root on Root
//	  (meanwhile)
//	                                        /proc, /dev (tmpfs + devices + devpts),
//	                                        /dev/shm, /dev/mqueue, /sys (ro)
//	                                        bind /etc/hostname, hosts, resolv.conf
//	                                        lo up (network none), sethostname
//	                                        pivot_root, detach the old root
//	                                        mask /proc/kcore..., /proc/sys ro
//	receive the terminal on fd 6 ◄───────   open a pty in the container's devpts
//	                                        resolve the user from /etc/passwd (Go)
//	                                        chdir to the workdir, verify it
//	                                        find the command in $PATH
//	                                        drop the bounding set, seccomp,
//	                                        setgroups/setgid/setuid, capset
//	with Prestart or a PID limit: ◄──────   "at exec" on fd 4, then wait on fd 3
//	  write pids.max, "go" on fd 3 ──────►
//	read fd 4 until EOF ◄────────────────   execve (closes fd 4: success)
//	                                        or write a StartError to fd 4
//
// Every step up to execve runs on one locked OS thread: capabilities,
// seccomp and (for exec) the mount namespace are per thread, and execve
// keeps the calling thread's.
//
// This package's init function recognises the init (InitVerb plus a marker
// in the environment) and runs it as soon as this package's imports are
// initialized. In berth-init that is nearly everything the binary links; in
// a bigger binary (a test binary, or berth's own CLI hook), Go initializes
// ready packages in import-path order, so those that sort before this
// package's last import still run first (protobuf's, the zstd encoder's CRC
// tables): that is why the init is a binary of its own.
//
// Containers are forked from one OS thread that lives as long as the
// process: the parent-death signal that kills a container with its
// supervisor fires when the forking thread exits, and Go retires threads
// whose locked goroutine ends.
//
// # Defences
//
// The runc CVE classes are closed the way runc closes them: the init runs
// from a detached read-only overlay view of berth's binary, so the
// container cannot overwrite the host's binary through /proc/self/exe
// (CVE-2019-5736); descriptors are close-on-exec on both sides of the
// boundary and the working directory is verified after chdir
// (CVE-2024-21626); mount targets and the working directory are resolved
// inside the root with securejoin, never through a symlink that leads out.
//
// Docker's default seccomp profile (github.com/moby/profiles/seccomp) is
// compiled to BPF in Go, without libseccomp, as a binary search over the
// syscall numbers: see seccomp_linux.go (and seccomp_default_linux.go for
// the program precompiled for the default capabilities).
//
// # Cgroups
//
// v2 controllers when the unified hierarchy offers them, v1 hierarchies
// otherwise, managed through the filesystem (no systemd): see Cgroup. The
// container is born in its v2 cgroup (CLONE_INTO_CGROUP), which also gives
// it the freezer, even on hybrid machines.
package runtime
