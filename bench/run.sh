#!/usr/bin/env bash
# Benchmark: start a local cluster of its own, measure it with mpic-loadgen (closed and open
# loop), dnsperf (the resolver alone), /proc (CPU, RSS) in one run, print the figures and the
# targets of issue 9, write bench/results/latest.json and latency.png, and always bring the
# cluster down. See bench/README.md.
#
#   bench/run.sh [--smoke] [--profile] [--port N] [--lab-ip IP] [--keep-state]
#
#   --smoke          a few seconds: every measurement once with tiny counts and one rate, on
#                    port 28700 and lab 127.0.78.1 unless told otherwise; writes smoke.json and
#                    smoke-latency.png (scripts/test.sh runs it so that the bench cannot rot)
#   --profile        also perf record -g the orchestrator and one agent under load: perf-*.data
#                    and perf report's top entries (perf-*.txt) in bench/results/
#   --port N         orchestrator port (28600); agents take N+1..N+6, bench.py's own
#                    orchestrators N+10 (ready time) and N+11 (1000 in flight)
#   --lab-ip IP      loopback address of the cluster's DNS lab (127.0.76.1)
#   --keep-state     keep the cluster's state dir (configs, logs) after the run
#
# BUILD=DIR uses the daemons and mpic-loadgen already built in DIR; without it, build-bench is
# configured as a Release build and the three are (re)built. Exits 1 when the cluster could not
# start or a request got an unexpected status or failed; never judges times.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
ME=bench/run.sh
SMOKE=false PROFILE=false PORT='' LAB_IP='' KEEP=false

usage() { sed -n '7,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --port|--lab-ip)
            [ $# -ge 2 ] || usage
            case $1 in --port) PORT=$2 ;; --lab-ip) LAB_IP=$2 ;; esac
            shift 2 ;;
        --smoke) SMOKE=true; shift ;;
        --profile) PROFILE=true; shift ;;
        --keep-state) KEEP=true; shift ;;
        -h|--help) usage ;;
        *) echo "$ME: unknown argument: $1" >&2; usage ;;
    esac
done
# The smoke runs inside scripts/test.sh, perhaps beside a full bench: addresses of its own.
# Ports below the ephemeral range (32768..), which a busy machine's outgoing connections take.
if [ "$SMOKE" = true ]; then : "${PORT:=28700}" "${LAB_IP:=127.0.78.1}"; NAME=smoke PLOT=smoke-latency.png
else : "${PORT:=28600}" "${LAB_IP:=127.0.76.1}"; NAME=latest PLOT=latency.png; fi
[[ $PORT =~ ^[1-9][0-9]{3,4}$ ]] && [ "$PORT" -le 65520 ] || { echo "$ME: --port $PORT: must be 1000..65520" >&2; exit 2; }

if [ -n "${BUILD:-}" ]; then
    BUILD=$(cd "$BUILD" && pwd)
else
    BUILD=$REPO/build-bench
    echo "$ME: building mpic-agent, mpic-orchestrator and mpic-loadgen in $BUILD (Release)"
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > /dev/null
    cmake --build "$BUILD" -j2 --target mpic-agent mpic-orchestrator mpic-loadgen > /dev/null
fi
for b in mpic-agent mpic-orchestrator mpic-loadgen; do
    [ -x "$BUILD/$b" ] || { echo "$ME: no $BUILD/$b (cmake --build $BUILD)" >&2; exit 1; }
done

STATE=$(mktemp -d /tmp/mpic-bench.XXXXXX)
cleanup() {
    local rc=$?
    # bench.py's own orchestrators (ready time, in flight), if it was stopped while one ran: only
    # a process whose command line names this state dir is ours.
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
ARGS=(--plot "$REPO/bench/results/$PLOT")
[ "$SMOKE" = true ] && ARGS+=(--smoke)
[ "$PROFILE" = true ] && ARGS+=(--profile)
"$PY" "$REPO"/bench/bench.py "$STATE" "$BUILD" "$REPO/bench/results/$NAME.json" "${ARGS[@]}" &
BENCH_PID=$!
wait "$BENCH_PID"
