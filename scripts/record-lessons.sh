#!/bin/sh
# Record every lesson live with the real engine, for the replays that ship
# inside berth (lessons/recordings/*.jsonl, embedded at build time).
#
#   make lessons-record                    # as root on Linux
#   BASE=alpine make lessons-record        # record on another base
#
# The default base is debian, made by `berth bootstrap debian` (mmdebstrap,
# from the Debian mirror; the tarball is cached) in a temporary berth root,
# so the recordings show the real redis installed with apt-get (alpine needs
# Docker Hub; BASE=busybox records the offline stand-in). Each lesson then
# runs live in its own temporary root with
# --record, and the recordings replace those in lessons/recordings only when
# every lesson succeeded and every recording parses and replays.
set -eu

BERTH=${BERTH:-bin/berth}
OUT=${OUT:-lessons/recordings}
BASE=${BASE:-debian}

if [ "$(id -u)" != 0 ]; then
	echo "record-lessons: run this as root: the engine needs namespaces and overlay mounts" >&2
	exit 1
fi
if [ ! -x "$BERTH" ]; then
	echo "record-lessons: $BERTH is missing: run make build first (or set BERTH)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-record-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

export BERTH_ROOT="$tmp/root"
export NO_COLOR=1
case "$BASE" in
busybox) "$BERTH" bootstrap busybox ;;
alpine) "$BERTH" pull alpine ;;
debian) "$BERTH" bootstrap debian ;;
*) echo "record-lessons: unknown BASE $BASE (busybox, alpine or debian)" >&2; exit 1 ;;
esac

mkdir -p "$tmp/rec" "$tmp/work"
"$BERTH" lesson all --yes --base "$BASE" --record "$tmp/rec" --workdir "$tmp/work" >"$tmp/live.log" 2>&1 || {
	cat "$tmp/live.log" >&2
	echo "record-lessons: a lesson failed live; the recordings were not changed" >&2
	exit 1
}

# Every recording must parse and replay before it replaces the old one.
for f in "$tmp"/rec/*.jsonl; do
	name=$(basename "$f" .jsonl)
	"$BERTH" lesson "$name" --replay --yes --recording "$f" >/dev/null || {
		echo "record-lessons: the new recording of $name does not replay" >&2
		exit 1
	}
done

mkdir -p "$OUT"
cp "$tmp"/rec/*.jsonl "$OUT"/
echo "record-lessons: recorded $(ls "$tmp"/rec/*.jsonl | wc -l) lessons on base $BASE into $OUT"
