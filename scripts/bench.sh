#!/usr/bin/env bash
# make bench, after the Go benchmarks: Berth next to Podman, Buildah, runc and
# crun (whichever are installed; make bench-peers installs them), timed in one
# run on this machine. Prints a Markdown table and writes bench-results.json.
#
# Environment:
#   BENCH_DIR    where every store lives (default /var/tmp/berth-bench; removed afterwards)
#   BENCH_RUNDIR runtime state with short paths (default /run/berth-bench; removed afterwards)
#   BENCH_OUT    the JSON file (default bench-results.json)
#   BENCH_ONLY   a regular expression of case IDs (start, start-bridge, build3-cold,
#                build10-cached, runstep5, commit, commit-real, save, load, push, pull,
#                pull-uptodate, push-layers, pull-layers, room)
#   BENCH_QUICK  1 for fewer runs (a smoke test; do not publish those numbers)
#   BENCH_DOC    the Markdown file whose generated table and curves to replace; a full run
#                (no BENCH_ONLY, no BENCH_QUICK) defaults to docs/performance.md, BENCH_DOC=
#                (empty) leaves it alone
#   BENCH_CURVES 0 to skip the growth curves (berthbench curves: docs/perf/*.svg)
#   BENCH_BIG    1 to add the curves' largest sizes (minutes each)
#   BENCH_CACHE  where commit-real's apt layer is kept between runs (default ~/.cache/berth/bench)
#   BENCH_FS     auto (default): when BENCH_DIR would be on ext4 without a journal, put it on a
#                journaled ext4 scratch file system (a sparse ${BENCH_DIR}.img, loop-mounted,
#                deleted at the end); host: keep the host's disk; scratch: always the scratch
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench: the comparison with the peers runs containers and needs root; skipped" >&2
	exit 0
fi
{ [ -x bin/berth ] && [ -x bin/berth-init ]; } || make --no-print-directory build
go build -trimpath -o bin/berthbench ./bench/cmd/berthbench

# On ext4 without a journal, file creation after deletions is slow for
# minutes (docs/performance.md): the stores go on a journaled scratch file
# system, unmounted and deleted on any exit, failure or signal included.
# berthbench runs in the background so that a signal to this script alone
# (not only Ctrl-C, which reaches the whole process group) is passed on at
# once: berthbench stops and cleans up, then the EXIT trap unmounts.
child=
bb() {
	bin/berthbench "$@" &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=
	return "$rc"
}
on_signal() {
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" || true
	fi
	exit "$1"
}
trap 'bin/berthbench scratch down' EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
bb scratch up

out=${BENCH_OUT:-bench-results.json}
args=(run -berth bin/berth -out "$out")
[ -n "${BENCH_ONLY:-}" ] && args+=(-only "$BENCH_ONLY")
[ "${BENCH_QUICK:-0}" = 1 ] && args+=(-quick)
doc_default=docs/performance.md
if [ -n "${BENCH_ONLY:-}" ] || [ "${BENCH_QUICK:-0}" = 1 ]; then
	doc_default=
fi
BENCH_DOC=${BENCH_DOC-$doc_default}
[ -n "$BENCH_DOC" ] && args+=(-doc "$BENCH_DOC")
bb "${args[@]}"
# The curves follow the table unless BENCH_CURVES=0, or BENCH_ONLY picks cases
# and does not name "curves". Only a published run (BENCH_DOC set) replaces
# docs/perf; a quick or partial one draws into bench-curves/.
curves_out=docs/perf
[ -z "$BENCH_DOC" ] && curves_out=bench-curves
if [ "${BENCH_CURVES:-1}" != 0 ] && { [ -z "${BENCH_ONLY:-}" ] || [[ "curves" =~ ${BENCH_ONLY} ]]; }; then
	cargs=(curves -berth bin/berth -out "$curves_out")
	[ "${BENCH_BIG:-0}" = 1 ] && cargs+=(-big)
	[ "${BENCH_QUICK:-0}" = 1 ] && cargs+=(-runs 1)
	[ -n "$BENCH_DOC" ] && cargs+=(-doc "$BENCH_DOC")
	# A failed curve still leaves the goals to judge (the curve marked missing
	# or older); the script fails at the end.
	bb "${cargs[@]}" || curves_status=$?
fi
# Issue 18's goals, judged from this run's JSON and the curves just drawn
# (or, with BENCH_CURVES=0, the curves.json there, marked when older).
rargs=(report -in "$out" -curves "$curves_out/curves.json" -print goals)
[ -n "$BENCH_DOC" ] && rargs+=(-doc "$BENCH_DOC")
echo
bb "${rargs[@]}"
exit "${curves_status:-0}"
