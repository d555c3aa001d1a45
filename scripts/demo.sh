#!/usr/bin/env bash
# make demo: the notes' redis image, built, started and answering PONG.
#
# Online (alpine in the store, or Docker Hub reachable) it builds the notes'
# Dockerfile exactly: FROM alpine / RUN apk add --update redis. Offline it
# makes a Debian base with `berth bootstrap debian` (mmdebstrap, from the
# Debian mirror) and installs the same redis with apt-get. With no mirror
# either, busybox and a stand-in redis-server (no PONG then).
#
#   DEMO_BASE=alpine|debian|busybox   skip the choice (debian: never try Docker Hub)
#
# As root it builds for real; otherwise it replays the recorded lessons.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/bin/berth}
bold() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
say() { printf '\033[2m%s\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	bold "Not root: replaying the recorded build-cache lesson (the real engine needs root)"
	"$BERTH" lesson build-cache --replay --yes
	exit 0
fi

export BERTH_ROOT=${BERTH_ROOT:-/var/lib/berth-demo}
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
CIDS=()
cleanup() {
	for c in "${CIDS[@]}"; do "$BERTH" rm -f "$c" >/dev/null 2>&1 || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
CTX=$WORK/ctx TRACES=$WORK/traces
mkdir -p "$CTX" "$TRACES"
echo "store: $BERTH_ROOT   workspace: $WORK"

# --- the base -------------------------------------------------------------
BASE=${DEMO_BASE:-}
if [ -z "$BASE" ]; then
	if [ -n "$("$BERTH" images -q alpine:latest 2>/dev/null)" ]; then
		BASE=alpine
	elif "$BERTH" pull alpine >/dev/null 2>"$WORK/pull.err"; then
		BASE=alpine
	elif command -v mmdebstrap >/dev/null; then
		say "No Docker Hub here ($(tail -n1 "$WORK/pull.err")): using a Debian base instead."
		BASE=debian
	else
		BASE=busybox
	fi
fi
case "$BASE" in
alpine)
	bold "The notes' base: alpine, from Docker Hub"
	"$BERTH" pull alpine
	FROM=alpine INSTALL_REDIS='apk add --update redis' INSTALL_GCC='apk add --update gcc'
	;;
debian)
	bold "A base image without Docker Hub: berth bootstrap debian (mmdebstrap, reproducible, cached)"
	"$BERTH" bootstrap debian
	FROM=debian:bookworm INSTALL_REDIS='apt-get update && apt-get install -y redis-server' INSTALL_GCC='apt-get update && apt-get install -y gcc'
	say "One difference from the notes: Debian's package manager is apt-get, not alpine's apk (alpine comes from Docker Hub, which this machine cannot reach; the Debian mirror it can)."
	;;
busybox)
	bold "A base image with no network at all: busybox from the host's static binary"
	"$BERTH" bootstrap busybox
	FROM=busybox
	INSTALL_REDIS="mkdir -p /usr/local/bin && printf '#!/bin/sh\\necho \"Ready to accept connections (redis stand-in)\"\\n' > /usr/local/bin/redis-server && chmod +x /usr/local/bin/redis-server"
	INSTALL_GCC='echo "pretend gcc" > /usr/local/bin/gcc'
	say "No network: busybox has no package manager, so the RUN line writes a stand-in redis-server (it cannot answer PING)."
	;;
*) echo "demo: DEMO_BASE=$BASE: use alpine, debian or busybox" >&2; exit 1 ;;
esac
"$BERTH" images

# --- the notes' Dockerfile -------------------------------------------------
bold "The notes' Dockerfile (FROM $FROM)"
printf 'FROM %s\nRUN %s\nCMD ["redis-server"]\n' "$FROM" "$INSTALL_REDIS" >"$CTX/Dockerfile"
cat "$CTX/Dockerfile"

bold "berth build -t rommelrico/redis:latest .   (every step runs)"
(cd "$CTX" && "$BERTH" build --no-cache --trace "$TRACES/build1.jsonl" -t rommelrico/redis:latest .)

# start_and_ping starts IMAGE detached, waits for redis to be ready, and asks it for
# PONG from inside the container (which keeps working whatever the network).
start_and_ping() {
	local cid
	cid=$("$BERTH" run -d "$1")
	CIDS+=("$cid")
	echo "\$ berth run -d $1"
	echo "$cid"
	if [ "$BASE" = busybox ]; then
		sleep 1
		"$BERTH" logs "$cid"
		return
	fi
	for _ in $(seq 1 50); do
		"$BERTH" logs "$cid" 2>&1 | grep -q 'Ready to accept connections' && break
		sleep 0.2
	done
	"$BERTH" logs "$cid" 2>&1 | tail -n 1
	echo "\$ berth exec ${cid:0:12} redis-cli ping"
	"$BERTH" exec "$cid" redis-cli ping
	"$BERTH" rm -f "$cid" >/dev/null
}

bold "berth run rommelrico/redis:latest, then redis-cli ping"
start_and_ping rommelrico/redis:latest

bold "Add a line after the install and rebuild: step 2 comes from the cache"
sed -i "2a RUN $INSTALL_GCC" "$CTX/Dockerfile"
cat "$CTX/Dockerfile"
(cd "$CTX" && "$BERTH" build --trace "$TRACES/build2.jsonl" -t rommelrico/redis:latest .)

bold "Why? Every cache decision, from the trace"
"$BERTH" trace explain "$TRACES/build2.jsonl" || true

bold "What would a third build do? (--explain runs nothing)"
(cd "$CTX" && "$BERTH" build --explain .)

bold "The image's layers: history with the real parent IDs"
"$BERTH" history rommelrico/redis:latest

bold "An HTML view of the build for the projector"
"$BERTH" trace html "$TRACES/build2.jsonl" -o /tmp/berth-demo-build.html && echo "wrote /tmp/berth-demo-build.html"

bold "The lesson: rebuilds with cache, narrated"
"$BERTH" lesson build-cache --yes --base "$BASE"

bold "Last, the notes' manual image generation with commit, ending on PONG (by hand: berth lesson manual-commit)"
echo "\$ berth run -d $FROM sh -c '$INSTALL_REDIS && sleep infinity'"
CID=$("$BERTH" run -d "$FROM" sh -c "$INSTALL_REDIS >/dev/null && touch /installed && sleep infinity")
CIDS+=("$CID")
until "$BERTH" exec "$CID" test -e /installed 2>/dev/null; do
	"$BERTH" ps -q --no-trunc | grep -q "$CID" || { "$BERTH" logs "$CID"; exit 1; }
	sleep 1
done
"$BERTH" ps
"$BERTH" diff "$CID" | grep -m 5 redis || true
echo "\$ berth commit -c 'CMD [\"redis-server\"]' ${CID:0:12}"
IMG=$("$BERTH" commit -c 'CMD ["redis-server"]' "$CID")
echo "$IMG"
"$BERTH" rm -f "$CID" >/dev/null
start_and_ping "$IMG"

