#!/usr/bin/env bash
# make demo: the best Berth can show today, on a fresh Debian machine.
# As root it builds for real; otherwise it replays the recorded lessons.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH=${BERTH:-$PWD/bin/berth}
bold() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	bold "Not root: replaying the recorded build-cache lesson (the real engine needs root)"
	"$BERTH" lesson build-cache --replay --yes
	exit 0
fi

export BERTH_ROOT=${BERTH_ROOT:-/var/lib/berth-demo}
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CTX=$WORK/ctx TRACES=$WORK/traces
mkdir -p "$CTX" "$TRACES"
echo "store: $BERTH_ROOT   workspace: $WORK"

bold "A base image with no Wi-Fi: busybox from the host's static binary"
"$BERTH" bootstrap busybox
"$BERTH" images

bold "The notes' Dockerfile, on busybox (no apk offline: the RUN installs a stand-in redis-server)"
cat >"$CTX/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN mkdir -p /usr/local/bin && printf '#!/bin/sh\necho "Ready to accept connections (redis stand-in)"\n' > /usr/local/bin/redis-server && chmod +x /usr/local/bin/redis-server
CMD ["redis-server"]
DOCKERFILE
cat "$CTX/Dockerfile"

bold "berth build -t rommelrico/redis:latest .   (every step runs)"
(cd "$CTX" && "$BERTH" build --no-cache --trace "$TRACES/build1.jsonl" -t rommelrico/redis:latest .)

bold "berth run rommelrico/redis:latest"
"$BERTH" run --rm rommelrico/redis:latest

bold "Add a line after the install and rebuild: step 2 comes from the cache"
sed -i '2a RUN echo "pretend gcc" > /usr/local/bin/gcc' "$CTX/Dockerfile"
(cd "$CTX" && "$BERTH" build --trace "$TRACES/build2.jsonl" -t rommelrico/redis:latest .)

bold "Why? Every cache decision, from the trace"
"$BERTH" trace explain "$TRACES/build2.jsonl" || true

bold "What would a third build do? (--explain runs nothing)"
(cd "$CTX" && "$BERTH" build --explain .)

bold "The image's layers: history with the real parent IDs"
"$BERTH" history rommelrico/redis:latest

bold "Manual image generation with commit"
CID=$("$BERTH" run -d busybox sh -c 'mkdir -p /data && echo manual > /data/note && sleep 30')
sleep 0.5
"$BERTH" diff "$CID" || true
"$BERTH" commit -c 'CMD ["redis-server"]' "$CID" rommelrico/redis:manual
"$BERTH" rm -f "$CID" >/dev/null
"$BERTH" inspect --format '{{json .Config.Cmd}}' rommelrico/redis:manual

bold "An HTML view of the build for the projector"
"$BERTH" trace html "$TRACES/build2.jsonl" -o /tmp/berth-demo-build.html && echo "wrote /tmp/berth-demo-build.html"

bold "The lesson: rebuilds with cache, narrated"
"$BERTH" lesson build-cache --yes
