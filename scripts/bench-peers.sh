#!/usr/bin/env bash
# make bench-peers: install the tools `make bench` compares Berth with, from
# Debian, and give each of them the same busybox base image (from `berth save`).
#
# Installs what is missing of: podman buildah runc crun skopeo umoci pigz zstd
# hyperfine docker-registry busybox-static time mmdebstrap gcc libc6-dev (gcc and
# libc6-dev build the start case's C reference line, static), with one
# `apt-get update` first. Then `berthbench prepare` makes the bench directory
# ($BENCH_DIR, default /var/tmp/berth-bench): a Berth root with busybox, bb.tar
# from `berth save`, the same tar loaded into podman/buildah's storage, an OCI
# bundle for runc and crun unpacked with umoci, and a plain rootfs for the
# unshare+chroot floor; and commit-real's layer, `apt-get install -y
# redis-server` on `berth bootstrap debian` (mmdebstrap), kept in $BENCH_CACHE.
# Every root is on the same filesystem; see docs/performance.md. `make bench`
# starts afresh: when $BENCH_DIR is on ext4 without a journal it empties it
# and mounts a journaled scratch file system there (BENCH_FS).
set -euo pipefail
cd "$(dirname "$0")/.."

PEERS=(podman buildah runc crun skopeo umoci pigz zstd hyperfine docker-registry busybox-static time mmdebstrap gcc libc6-dev)

if [ "$(id -u)" != 0 ]; then
	echo "bench-peers: needs root (apt-get, containers, mounts); run it as root" >&2
	exit 1
fi

missing=()
for p in "${PEERS[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "bench-peers: installing ${missing[*]}"
	apt-get update -qq
	start=$(date +%s%N)
	# Install one by one so a package the mirror lacks does not stop the others.
	for p in "${missing[@]}"; do
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null; then
			echo "bench-peers: could not install $p; make bench will skip it" >&2
		fi
	done
	echo "bench-peers: apt-get install took $((($(date +%s%N) - start) / 1000000)) ms"
else
	echo "bench-peers: all peers already installed"
fi
for p in "${PEERS[@]}"; do
	printf '  %-16s %s\n' "$p" "$(dpkg-query -W -f '${Version}' "$p" 2>/dev/null || echo 'not installed')"
done

make --no-print-directory build
go build -trimpath -o bin/berthbench ./bench/cmd/berthbench
exec bin/berthbench prepare -berth bin/berth "$@"
