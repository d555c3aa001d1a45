// Command berthbench times Berth next to Podman, Buildah, runc and crun on
// the same machine, in one run, and writes a Markdown table and a JSON file.
// `make bench` runs it through scripts/bench.sh; `make bench-peers` installs
// the peers and runs `berthbench prepare`.
//
//	berthbench prepare [-dir DIR] [-berth BIN]
//	berthbench run     [-dir DIR] [-berth BIN] [-out bench-results.json] [-quick] [-only REGEXP] [-doc FILE]
//	berthbench clean   [-dir DIR]
//
// prepare makes the bench directory: a Berth root with busybox (`berth
// bootstrap busybox`), bb.tar from `berth save`, the same tar loaded into
// Podman and Buildah's storage, an OCI bundle unpacked from it for runc and
// crun, a plain rootfs for the unshare+chroot floor, the Dockerfiles, and
// the commit workload (100 MiB of random data plus 5,000 small files). Every
// root lives under DIR (or, for runtime state that needs short paths, under
// /run/berth-bench), so every tool stores on the same filesystem.
//
// run prepares, then times each case with every installed tool in
// alternating rounds (A B A B) after warm-up rounds, each run a fresh
// process timed from fork to exit, with the peak RSS from wait4's rusage.
// Per-run preparation (removing the last build's images, resetting a root,
// restarting the registry) happens outside the timed region. A tool that
// fails is reported as "did not run" with its error, never dropped
// silently; a tool that needs a different flag on this host to work (crun,
// Podman's default runtime) is retried with the documented alternative and
// the table says so. Everything the run creates is removed at the end:
// containers, images, registries, mounts under the bench directory, and the
// cgroups the peers leave behind.
//
// docs/performance.md explains every workload and what limits each figure.
package main
