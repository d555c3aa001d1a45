#!/usr/bin/env bash
# make demo: the notes' redis image, built, started and answering PONG.
#
# Online (alpine in the store, or Docker Hub reachable) it builds the notes'
# Dockerfile exactly: FROM alpine / RUN apk add --update redis. Offline it
# makes a Debian base with `berth bootstrap debian` (mmdebstrap, from the
# Debian mirror) and installs the same redis with apt-get. With no mirror
# either, busybox and a stand-in redis-server (no PONG then).
#
#   DEMO_PORT=6379, DEMO_NETWORK=app   where the image is served at the end
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
NETS=()
DPID=
cleanup() {
	if [ -n "$DPID" ]; then
		kill -INT "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	for c in "${CIDS[@]}"; do "$BERTH" rm -f "$c" >/dev/null 2>&1 || true; done
	for n in "${NETS[@]}"; do "$BERTH" network rm "$n" >/dev/null 2>&1 || true; done
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

# wait_ready waits for redis in container $1 to accept connections.
wait_ready() {
	for _ in $(seq 1 50); do
		"$BERTH" logs "$1" 2>&1 | grep -q 'Ready to accept connections' && break
		sleep 0.2
	done
	"$BERTH" logs "$1" 2>&1 | tail -n 1
}

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
	wait_ready "$cid"
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

bold "Client → server, as the notes draw it: a lesson's build through berth daemon"
say "A daemon of its own (a private socket and root, with only the base in it, so the lesson's cache starts empty); the lesson is its client: over the socket go the requests and the build context, back comes the daemon's trace."
DROOT=$WORK/daemon-root DSOCK=unix://$WORK/berth.sock
"$BERTH" save "$FROM" | "$BERTH" --root "$DROOT" load >/dev/null
echo "\$ berth daemon --host $DSOCK &"
"$BERTH" --root "$DROOT" daemon --host "$DSOCK" --shutdown-timeout 1 2>"$WORK/daemon.log" &
DPID=$!
for _ in $(seq 1 100); do [ -S "$WORK/berth.sock" ] && break; sleep 0.1; done
echo "\$ berth lesson build-process --yes --via-daemon --host $DSOCK"
"$BERTH" lesson build-process --yes --via-daemon --host "$DSOCK" --base "$BASE"
echo "\$ berth --host $DSOCK images   (the lesson's image is the daemon's)"
"$BERTH" --host "$DSOCK" images
kill -INT "$DPID"
wait "$DPID" || true
DPID=

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

# --- serving real clients ---------------------------------------------------
[ "$BASE" = busybox ] && exit 0 # the stand-in cannot answer PING
IMAGE=rommelrico/redis:latest PORT=${DEMO_PORT:-6379} NET=${DEMO_NETWORK:-app}
# Redis without a config file runs in protected mode: it answers only
# clients on its own loopback (DENIED to the rest). Clients come from the
# host and from other containers here, so the server is started with
# --protected-mode no, as Docker Hub's redis image does.
SERVE=(redis-server --protected-mode no)
# pong runs a client command and fails the demo unless it prints PONG.
pong() {
	local out
	echo "\$ ${*/#"$BERTH"/berth}"
	out=$("$@" 2>&1) || true
	echo "$out"
	[ "$out" = PONG ] || { echo "demo: expected PONG from: $*" >&2; exit 1; }
}

bold "Serving real clients: redis on a published port"
say "Redis without a config file only answers clients on its own loopback (protected mode); clients come from outside the container here, so: --protected-mode no (as Docker Hub's redis image runs it)."
echo "\$ berth run -d -p $PORT:6379 --name redis $IMAGE ${SERVE[*]}"
"$BERTH" run -d --trace "$TRACES/serve-port.jsonl" -p "$PORT:6379" --name redis "$IMAGE" "${SERVE[@]}"
CIDS+=(redis)
wait_ready redis
"$BERTH" port redis
if command -v redis-cli >/dev/null; then
	say "The host's own redis-cli asks through the published port:"
	pong redis-cli -h 127.0.0.1 -p "$PORT" ping
else
	say "This host has no redis-cli; the image has one, so a container on the host's network (--network host) asks through the published port on 127.0.0.1, as a program on the host would:"
	pong "$BERTH" run --rm --network host "$IMAGE" redis-cli -h 127.0.0.1 -p "$PORT" ping
fi
say "The trace's container.start event records the address and the port it got:"
grep '"type":"container.start"' "$TRACES/serve-port.jsonl" | grep -o '"networks":.*'
"$BERTH" rm -f redis >/dev/null

bold "Serving real clients: by name on a user network"
if "$BERTH" network inspect "$NET" >/dev/null 2>&1; then
	echo "network $NET exists already: using it (it is not removed at the end)"
else
	echo "\$ berth network create $NET"
	"$BERTH" network create "$NET" >/dev/null
	NETS+=("$NET")
fi
echo "\$ berth run -d --network $NET --name redis -v redis-data:/data $IMAGE ${SERVE[*]}"
"$BERTH" run -d --trace "$TRACES/serve-net.jsonl" --network "$NET" --name redis -v redis-data:/data "$IMAGE" "${SERVE[@]}"
wait_ready redis
pong "$BERTH" run --rm --network "$NET" "$IMAGE" redis-cli -h redis ping
say "The trace records the network, the container's address on it and the volume:"
grep '"type":"container.start"' "$TRACES/serve-net.jsonl" | grep -o '"network_mode":.*'

bold "Cleaning up: berth rm -f redis; berth network rm $NET; berth volume rm redis-data"
"$BERTH" rm -f redis
CIDS=()
for n in "${NETS[@]}"; do "$BERTH" network rm "$n"; done
NETS=()
"$BERTH" volume rm redis-data
