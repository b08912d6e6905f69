#!/usr/bin/env bash
# Benchmark: start a local cluster of its own, measure throughput, latency, cold start and
# memory against it in one run, print a table and ratios computed within that run, write
# bench/results/latest.json, and always bring the cluster down. See bench/README.md.
#
#   bench/run.sh [--requests N] [--cap SECONDS] [--port N] [--lab-ip IP] [--keep-state]
#
#   --requests N     requests per scenario (300)
#   --cap SECONDS    hard time cap per scenario (20)
#   --port N         orchestrator port (38600); agents take N+1..N+6, the cold-start
#                    orchestrator N+10
#   --lab-ip IP      loopback address of the cluster's DNS lab (127.0.76.1)
#   --keep-state     keep the cluster's state dir (configs, logs) after the run
#
# BUILD=DIR uses the daemons already built in DIR; without it, build-bench is configured as a
# Release build and its two daemons are (re)built. Exits 1 when the cluster could not start or
# a request got an unexpected status; never judges times.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
ME=bench/run.sh
REQUESTS=300 CAP=20 PORT=38600 LAB_IP=127.0.76.1 KEEP=false

usage() { sed -n '6,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --requests|--cap|--port|--lab-ip)
            [ $# -ge 2 ] || usage
            case $1 in --requests) REQUESTS=$2 ;; --cap) CAP=$2 ;; --port) PORT=$2 ;; --lab-ip) LAB_IP=$2 ;; esac
            shift 2 ;;
        --keep-state) KEEP=true; shift ;;
        -h|--help) usage ;;
        *) echo "$ME: unknown argument: $1" >&2; usage ;;
    esac
done
[[ $REQUESTS =~ ^[1-9][0-9]{0,4}$ ]] || { echo "$ME: --requests $REQUESTS: must be 1..99999" >&2; exit 2; }
[[ $CAP =~ ^[1-9][0-9]{0,2}$ ]] || { echo "$ME: --cap $CAP: must be 1..999 seconds" >&2; exit 2; }

if [ -n "${BUILD:-}" ]; then
    BUILD=$(cd "$BUILD" && pwd)
else
    BUILD=$REPO/build-bench
    echo "$ME: building mpic-agent and mpic-orchestrator in $BUILD (Release)"
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > /dev/null
    cmake --build "$BUILD" -j2 --target mpic-agent mpic-orchestrator > /dev/null
fi

STATE=$(mktemp -d /tmp/mpic-bench.XXXXXX)
cleanup() {
    local rc=$?
    # The cold-start orchestrator, if bench.py was stopped while one ran: only a process whose
    # command line names this state dir is ours.
    local f pid
    for f in "$STATE"/pids-bench/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if grep -qaF "$STATE/config/" "/proc/$pid/cmdline" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    "$REPO"/scripts/local-cluster.sh down --state "$STATE" > "$STATE/down.log" 2>&1 \
        || { echo "$ME: stopping the cluster failed:" >&2; cat "$STATE/down.log" >&2; rc=1; }
    if [ "$KEEP" = true ] || [ "$rc" != 0 ]; then echo "$ME: state (configs, logs) kept in $STATE" >&2
    else rm -rf "$STATE"; fi
    exit "$rc"
}
BENCH_PID=
trap cleanup EXIT
trap 'echo "$ME: interrupted" >&2; [ -z "$BENCH_PID" ] || kill -TERM "$BENCH_PID" 2>/dev/null; exit 130' INT TERM

echo "$ME: starting a cluster (orchestrator 127.0.0.1:$PORT, DNS lab $LAB_IP, state $STATE)"
# Log level info (as deploy/config/) and the audit log with fsync per request: what runs in
# production is what is measured.
if ! "$REPO"/scripts/local-cluster.sh up --state "$STATE" --port "$PORT" \
        --lab-ip "$LAB_IP" --build "$BUILD" > "$STATE/up.log" 2>&1; then
    echo "$ME: the cluster did not start:" >&2
    cat "$STATE/up.log" >&2
    exit 1
fi

mkdir -p "$REPO"/bench/results
# In the background so that a signal reaches the trap at once rather than after the run.
"$PY" "$REPO"/bench/bench.py "$STATE" "$BUILD" "$REPO"/bench/results/latest.json \
    --requests "$REQUESTS" --cap "$CAP" &
BENCH_PID=$!
wait "$BENCH_PID"
