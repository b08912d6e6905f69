#!/usr/bin/env bash
# A whole mpic deployment on one machine: the DNS lab, the web lab (HTTP and TLS-ALPN
# challenge servers), N perspective agents behind mutual TLS and one orchestrator, all on
# loopback.
#
#   local-cluster.sh up|down|status [options]
#
#   --state DIR         where configs, certificates, secrets, logs and pids live (/tmp/mpic-cluster)
#   --port N            orchestrator port (8080); agents listen on 127.0.0.1:N+1 .. N+agents
#   --agents N          number of perspectives, 2..10 (6)
#   --resolver H:P      resolver for every agent; the DNS and web labs are then not started
#   --lab-ip IP         loopback address of the DNS lab (127.0.53.1); the web lab runs on
#                       127.X.Y.10N+1 .. +9 for a lab on 127.X.Y.N (tests/lab/lab-addrs.sh)
#   --split-resolver H:P  the last --split-count agents use this resolver instead (e.g. a
#                       second lab started with tests/lab/dns-lab.sh DIR IP --alt)
#   --split-count N     how many agents --split-resolver takes (2)
#   --no-private-targets  agents get allow_private_targets false: every lab target is refused
#   --build DIR         where mpic-agent and mpic-orchestrator are ($BUILD_DIR or <repo>/build)
#   --policy P          orchestrator policy: cabf-br (default with 4+ agents) or open-mpic-reference
#                       (default below 4 agents); cabf-br needs as many agents as the next BR
#                       phase asks, or `up` fails on the orchestrator's -t
#   --default-count N   the orchestrator's default_perspective_count (min(agents, 6))
#   --dnssec MODE       agent.dns.dnssec of every agent: validate (the agents' default) or require
#   --primary           also run a primary network perspective (ca-primary, an agent on port
#                       N+agents+1) that the orchestrator asks beside every cohort
#   --primary-resolver H:P  the primary's resolver (default: the agents' resolver)
#   --require-primary   with --primary: valid only when the primary passed too
#   --scenarios         scenario mode (docs/conformance.md, Scenario mode): six agents under policy
#                       open-mpic-reference whose lab behaviours (tests/conformance/behaviours.json)
#                       make the names of conformance.test answer deterministically; shorter
#                       orchestrator timeouts (per agent 2 s, per request 10 s). Needs a lab build
#                       (MPIC_LAB_BEHAVIOUR, on with MPIC_SANITIZE) and the DNS lab.
#
# The daemons inherit the environment: MPIC_TEST_CLOCK (daemon/clock.h) sets their clock in a
# build with the test clock.
#
# up refuses when a cluster already runs in the state dir, and on any failure stops what it
# started and shows the failing log. down stops everything it finds in the state dir.
# status prints each process and exits 0 only when all of them run.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
ME=$(basename "$0")

# The perspective catalogue (code, name, RIR, too-close codes, location) is scripts/perspectives.json,
# which the integration tests read too; up uses its first --agents entries, in that order, and
# cluster-config.py writes the configs from it. Locations are approximate coordinates of each
# region's city; the orchestrator computes the 500 km rule from them (Ashburn-Columbus: 484 km, so
# us-east-1 and us-east-2 are too close by distance as well as by their explicit entry). The
# primary network perspective of --primary (ca-primary, Denver) is at least 500 km from every remote.
CONFIG_PY=$REPO/scripts/cluster-config.py

usage() {
    sed -n '6,34p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() { echo "$ME: $*" >&2; exit 1; }

STATE=/tmp/mpic-cluster PORT=8080 AGENTS=6 RESOLVER='' LAB_IP=127.0.53.1 POLICY='' DNSSEC=''
SPLIT_RESOLVER='' SPLIT_COUNT=2 DEFAULT_COUNT='' PRIVATE_TARGETS=true PRIMARY=false PRIMARY_RESOLVER='' REQUIRE_PRIMARY=false
SCENARIOS=false
BUILD=${BUILD_DIR:-$REPO/build}
CMD=
while [ $# -gt 0 ]; do
    case $1 in
        up|down|status) [ -z "$CMD" ] || usage; CMD=$1; shift ;;
        --state|--port|--agents|--resolver|--lab-ip|--build|--policy|--dnssec|--split-resolver|--split-count|--primary-resolver|--default-count)
            [ $# -ge 2 ] || die "$1 needs a value"
            case $1 in
                --state) STATE=$2 ;; --port) PORT=$2 ;; --agents) AGENTS=$2 ;;
                --resolver) RESOLVER=$2 ;; --lab-ip) LAB_IP=$2 ;; --build) BUILD=$2 ;;
                --policy) POLICY=$2 ;; --dnssec) DNSSEC=$2 ;;
                --split-resolver) SPLIT_RESOLVER=$2 ;; --split-count) SPLIT_COUNT=$2 ;;
                --primary-resolver) PRIMARY_RESOLVER=$2 ;; --default-count) DEFAULT_COUNT=$2 ;;
            esac
            shift 2 ;;
        --state=*|--port=*|--agents=*|--resolver=*|--lab-ip=*|--build=*|--policy=*|--dnssec=*|--split-resolver=*|--split-count=*|--primary-resolver=*|--default-count=*)
            set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
        --no-private-targets) PRIVATE_TARGETS=false; shift ;;
        --primary) PRIMARY=true; shift ;;
        --require-primary) REQUIRE_PRIMARY=true; shift ;;
        --scenarios) SCENARIOS=true; shift ;;
        -h|--help) usage ;;
        *) echo "$ME: unknown argument: $1" >&2; usage ;;
    esac
done
[ -n "$CMD" ] || usage
if [ "$CMD" = up ]; then
    mkdir -p "$STATE" 2>/dev/null || die "--state $STATE: cannot create it"
elif [ ! -d "$STATE" ]; then
    echo "no cluster in $STATE"
    [ "$CMD" = down ]   # nothing to stop is fine; status of nothing is not "all running"
    exit
fi
STATE=$(cd "$STATE" && pwd)
PIDS=$STATE/pids LOGS=$STATE/logs LAB=$STATE/lab WEB=$STATE/web

# A zombie counts as gone: it has exited, and its reaper (pid 1 here) may be slow about it.
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }

# A pid file may outlive its process and the pid be reused: only a process whose command
# line names this state dir's config is ours.
ours() { alive "$1" && grep -qaF "$STATE/config/" "/proc/$1/cmdline" 2>/dev/null; }

pid_of() { cat "$PIDS/$1.pid" 2>/dev/null || true; }

lab_running() {
    local f
    for f in "$LAB"/*.pid "$WEB"/*.pid; do [ -f "$f" ] && alive "$(cat "$f")" && return 0; done
    return 1
}

cluster_running() {
    local f
    for f in "$PIDS"/*.pid; do [ -f "$f" ] && ours "$(cat "$f")" && return 0; done
    lab_running
}

# TERM every daemon, give them 5 s together, KILL what is left; then the web and DNS labs.
stop_all() {
    local f pid name pids=() i left
    for f in "$PIDS"/orchestrator.pid "$PIDS"/agent-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f"); name=$(basename "$f" .pid)
        if ours "$pid"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); echo "stopping $name (pid $pid)"; fi
    done
    for i in $(seq 50); do
        left=0
        for pid in "${pids[@]}"; do alive "$pid" && left=1; done
        [ $left = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if alive "$pid"; then echo "pid $pid ignored SIGTERM for 5 s: killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
    done
    rm -f "$PIDS"/*.pid
    if [ -d "$WEB" ]; then
        ls "$WEB"/*.pid > /dev/null 2>&1 && echo "stopping the web lab"
        "$REPO"/tests/lab/web-lab.sh --stop "$WEB"
    fi
    if [ -d "$LAB" ]; then
        lab_running && echo "stopping the DNS lab"
        "$REPO"/tests/lab/dns-lab.sh --stop "$LAB"
    fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- up ---------------------------------------------------------------------------------

STARTED=0 UP_DONE=0
on_exit() {
    local rc=$?
    if [ "$STARTED" = 1 ] && [ "$UP_DONE" = 0 ]; then
        echo "$ME: up failed; stopping what was started (logs stay in $LOGS)" >&2
        stop_all > /dev/null 2>&1 || true
    fi
    exit $rc
}

# fail MESSAGE [LOG]: say what went wrong, show the end of the log that explains it.
fail() {
    echo "$ME: $1" >&2
    if [ -n "${2:-}" ] && [ -f "$2" ]; then
        echo "--- last lines of $2:" >&2
        tail -n 40 "$2" >&2
        echo "---" >&2
    fi
    exit 1
}

# wait_healthy NAME PID LOG URL [CURL OPTION...]: until URL answers 200, at most 30 s.
wait_healthy() {
    local name=$1 pid=$2 log=$3 url=$4 code i; shift 4
    for i in $(seq 300); do
        alive "$pid" || fail "$name exited during start-up" "$log"
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true)
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    fail "$name did not answer 200 on $url within 30 s (last status: ${code:-none})" "$log"
}

start_daemon() {   # start_daemon NAME BINARY CONFIG
    local name=$1 bin=$2 cfg=$3 pid
    setsid "$bin" -c "$cfg" > "$LOGS/$name.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$PIDS/$name.pid"
    echo "$pid"
}

write_configs() {   # write_configs RESOLVER CODE...
    local policy=$POLICY
    if [ -z "$policy" ]; then
        policy=cabf-br
        [ "$AGENTS" -ge 4 ] || policy=open-mpic-reference
    fi
    MPIC_POLICY=$policy MPIC_DNSSEC=$DNSSEC MPIC_PRIVATE_TARGETS=$PRIVATE_TARGETS MPIC_SPLIT_RESOLVER=$SPLIT_RESOLVER \
    MPIC_SPLIT_COUNT=$SPLIT_COUNT MPIC_PRIMARY=$PRIMARY \
    MPIC_PRIMARY_RESOLVER=$PRIMARY_RESOLVER MPIC_REQUIRE_PRIMARY=$REQUIRE_PRIMARY MPIC_SCENARIOS=$SCENARIOS MPIC_DEFAULT_COUNT=$DEFAULT_COUNT \
        "$PY" "$CONFIG_PY" configs "$STATE" "$PORT" "$1" "${MPIC_LOG_LEVEL:-info}" "$AGENTS"
}

# Scenario mode: merge tests/conformance/behaviours.json into the agents' configs, the
# first cohort of a name computed from the orchestrator's config by mpic-lab-cohorts.
write_behaviours() {
    "$PY" "$CONFIG_PY" behaviours "$STATE" "$REPO/tests/conformance/behaviours.json" "$BUILD/mpic-lab-cohorts" "$AGENTS"
}

cmd_up() {
    if ! [[ $AGENTS =~ ^[0-9]+$ ]] || [ "$AGENTS" -lt 2 ] || [ "$AGENTS" -gt 10 ]; then
        die "--agents $AGENTS: must be 2..10"
    fi
    if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ $((PORT + AGENTS)) -gt 65535 ]; then
        die "--port $PORT: not a usable port"
    fi
    case $DNSSEC in ''|validate|require) ;; *) die "--dnssec $DNSSEC: must be validate or require" ;; esac
    [[ $LAB_IP =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "--lab-ip $LAB_IP: must be in 127.0.0.0/8"
    [ -z "$RESOLVER" ] || [[ $RESOLVER =~ ^(\[[0-9a-fA-F:]+\]|[0-9.]+)(:[0-9]+)?$ ]] \
        || die "--resolver $RESOLVER: expected IP:PORT or [IPv6]:PORT"
    [ "$PRIMARY" = true ] || { [ -z "$PRIMARY_RESOLVER" ] && [ "$REQUIRE_PRIMARY" = false ]; } \
        || die "--primary-resolver and --require-primary need --primary"
    [ -z "$PRIMARY_RESOLVER" ] || [[ $PRIMARY_RESOLVER =~ ^(\[[0-9a-fA-F:]+\]|[0-9.]+)(:[0-9]+)?$ ]] \
        || die "--primary-resolver $PRIMARY_RESOLVER: expected IP:PORT or [IPv6]:PORT"
    [ -z "$SPLIT_RESOLVER" ] || [[ $SPLIT_RESOLVER =~ ^(\[[0-9a-fA-F:]+\]|[0-9.]+)(:[0-9]+)?$ ]] \
        || die "--split-resolver $SPLIT_RESOLVER: expected IP:PORT or [IPv6]:PORT"
    [ -z "$DEFAULT_COUNT" ] || { [[ $DEFAULT_COUNT =~ ^[0-9]+$ ]] && [ "$DEFAULT_COUNT" -ge 2 ] && [ "$DEFAULT_COUNT" -le "$AGENTS" ]; } \
        || die "--default-count $DEFAULT_COUNT: must be 2..$AGENTS"
    if ! [[ $SPLIT_COUNT =~ ^[0-9]+$ ]] || [ "$SPLIT_COUNT" -lt 1 ] || [ "$SPLIT_COUNT" -ge "$AGENTS" ]; then
        die "--split-count $SPLIT_COUNT: must be 1..$((AGENTS - 1))"
    fi
    # shellcheck source=tests/lab/lab-addrs.sh
    . "$REPO"/tests/lab/lab-addrs.sh
    [ -n "$RESOLVER" ] || lab_addrs "$LAB_IP" > /dev/null || die "--lab-ip $LAB_IP: see above"
    if [ "$SCENARIOS" = true ]; then
        [ "$AGENTS" = 6 ] || die "--scenarios needs the six agents the scenario table names (--agents 6)"
        [ -z "$RESOLVER" ] || die "--scenarios needs the DNS lab: drop --resolver"
        [ "$PRIMARY" = false ] && [ -z "$SPLIT_RESOLVER" ] || die "--scenarios runs without --primary and --split-resolver"
        [ -z "$POLICY" ] || [ "$POLICY" = open-mpic-reference ] \
            || die "--scenarios runs under policy open-mpic-reference (lab behaviours are refused under $POLICY)"
        POLICY=open-mpic-reference
        [ -x "$BUILD/mpic-lab-cohorts" ] \
            || die "--scenarios needs a lab build ($BUILD/mpic-lab-cohorts missing): configure with -DMPIC_LAB_BEHAVIOUR=ON or -DMPIC_SANITIZE=ON"
    fi
    local bin
    for bin in mpic-agent mpic-orchestrator; do
        [ -x "$BUILD/$bin" ] || die "$BUILD/$bin not found; build first (scripts/setup.sh) or pass --build DIR"
    done
    cluster_running && die "a cluster is already running in $STATE (stop it: $ME down --state $STATE)"
    local p
    for p in $(seq "$PORT" $((PORT + AGENTS + 1))); do
        port_busy "$p" && die "127.0.0.1:$p is already in use; choose another --port"
    done

    rm -rf "$STATE"/config "$STATE"/certs "$STATE"/secrets "$LOGS" "$PIDS" "$LAB" "$WEB" "$STATE"/cluster.env
    mkdir -p "$STATE"/config "$STATE"/secrets "$LOGS" "$PIDS"
    chmod 0700 "$STATE"/secrets

    local codes=() i
    mapfile -t codes < <("$PY" "$CONFIG_PY" codes "$AGENTS")
    [ "${#codes[@]}" = "$AGENTS" ] || die "cannot read $AGENTS perspectives from scripts/perspectives.json"
    [ "$PRIMARY" = false ] || codes+=("$("$PY" "$CONFIG_PY" primary-code)")   # started last, on port N+agents+1

    STARTED=1
    trap on_exit EXIT
    trap 'echo "$ME: interrupted" >&2; exit 130' INT TERM

    local resolver=$RESOLVER
    if [ -z "$resolver" ]; then
        echo "starting the DNS lab on $LAB_IP"
        "$REPO"/tests/lab/dns-lab.sh "$LAB" "$LAB_IP" > "$LOGS/dns-lab.log" 2>&1 \
            || fail "the DNS lab did not start" "$LOGS/dns-lab.log"
        resolver=$LAB_IP:5353
        echo "starting the web lab on $WEB_IP (HTTP/HTTPS) and $ALPN_OK_IP..$ALPN_NO_EXT_IP (TLS-ALPN)"
        "$REPO"/tests/lab/web-lab.sh "$WEB" "$WEB_IP" > "$LOGS/web-lab.log" 2>&1 \
            || fail "the web lab did not start (ports 80/443 need root)" "$LOGS/web-lab.log"
    else
        echo "agents use resolver $resolver (no DNS or web lab)"
    fi
    [ -z "$SPLIT_RESOLVER" ] || echo "the last $SPLIT_COUNT agents use resolver $SPLIT_RESOLVER"
    [ "$PRIVATE_TARGETS" = true ] || echo "agents refuse private targets (allow_private_targets false)"

    "$REPO"/scripts/gen-certs.sh "$STATE/certs" "${codes[@]}" > "$LOGS/gen-certs.log" 2>&1 \
        || fail "certificate generation failed" "$LOGS/gen-certs.log"
    ( umask 077
      openssl rand -hex 24 > "$STATE/secrets/api-key"
      openssl rand -hex 32 > "$STATE/secrets/cohort-secret" )
    write_configs "$resolver"
    if [ "$SCENARIOS" = true ]; then
        write_behaviours > "$LOGS/behaviours.log" 2>&1 || fail "cannot write the scenario behaviours" "$LOGS/behaviours.log"
        echo "scenario mode: $(grep -c . "$LOGS/behaviours.log" || true) computed cohort(s); behaviours from tests/conformance/behaviours.json"
    fi

    local name cfg
    for name in orchestrator "${codes[@]/#/agent-}"; do
        cfg=$STATE/config/$name.json
        bin=$BUILD/mpic-agent; [ "$name" = orchestrator ] && bin=$BUILD/mpic-orchestrator
        "$bin" -c "$cfg" -t > "$LOGS/$name.check" 2>&1 || fail "$cfg does not pass $bin -t" "$LOGS/$name.check"
    done
    echo "configs pass -t: orchestrator and ${#codes[@]} agents"

    local pids=() tls=(--cacert "$STATE/certs/ca.crt" --cert "$STATE/certs/orchestrator.crt"
                       --key "$STATE/certs/orchestrator.key")
    for i in "${!codes[@]}"; do
        pids+=("$(start_daemon "agent-${codes[$i]}" "$BUILD/mpic-agent" "$STATE/config/agent-${codes[$i]}.json")")
    done
    for i in "${!codes[@]}"; do
        wait_healthy "agent ${codes[$i]}" "${pids[$i]}" "$LOGS/agent-${codes[$i]}.log" \
            "https://127.0.0.1:$((PORT + i + 1))/healthz" "${tls[@]}"
        printf '  agent %-15s https://127.0.0.1:%d (pid %s)\n' "${codes[$i]}" $((PORT + i + 1)) "${pids[$i]}"
    done

    local opid
    opid=$(start_daemon orchestrator "$BUILD/mpic-orchestrator" "$STATE/config/orchestrator.json")
    wait_healthy orchestrator "$opid" "$LOGS/orchestrator.log" "http://127.0.0.1:$PORT/healthz"

    local key url=http://127.0.0.1:$PORT
    key=$(cat "$STATE/secrets/api-key")
    ( umask 077; printf 'MPIC_URL=%s\nMPIC_API_KEY=%s\n' "$url" "$key" > "$STATE/cluster.env" )
    UP_DONE=1

    local stop="scripts/local-cluster.sh down"
    [ "$STATE" = /tmp/mpic-cluster ] || stop+=" --state $STATE"
    cat <<EOF
mpic cluster is up: orchestrator $url (pid $opid), ${#codes[@]} agents, resolver $resolver
  API key:  $key
  env:      set -a; . $STATE/cluster.env; set +a
  try:      curl -s -H "x-api-key: \$MPIC_API_KEY" -H 'content-type: application/json' \\
              -d '{"check_type":"caa","domain_or_ip_target":"example.test"}' \$MPIC_URL/mpic
  dcv:      tests/lab/README.md "DCV examples" (acme-dns-01 on dcv.example.test, acme-http-01 on http.dcv.example.test)
  logs:     $LOGS
  stop:     $stop
EOF
}

cmd_down() {
    if ! cluster_running && ! ls "$PIDS"/*.pid > /dev/null 2>&1; then
        echo "no cluster running in $STATE"
        [ -d "$WEB" ] && "$REPO"/tests/lab/web-lab.sh --stop "$WEB"
        [ -d "$LAB" ] && "$REPO"/tests/lab/dns-lab.sh --stop "$LAB"
        return 0
    fi
    stop_all
    cluster_running && die "something in $STATE is still running"
    echo "cluster in $STATE stopped"
}

cmd_status() {
    local all=1 any=0 name pid code names=(orchestrator)
    for code in $("$PY" "$CONFIG_PY" codes) $("$PY" "$CONFIG_PY" primary-code); do names+=("agent-$code"); done
    for name in "${names[@]}"; do   # whatever the last up configured, in catalogue order
        [ -f "$STATE/config/$name.json" ] || continue
        any=1
        pid=$(pid_of "$name")
        if ours "$pid"; then printf '%-26s running (pid %s)\n' "$name" "$pid"
        else printf '%-26s stopped\n' "$name"; all=0; fi
    done
    if [ -f "$LAB/knot/knot.conf" ]; then
        for name in knotd unbound fail-servfail fail-refused fail-silent; do
            any=1
            pid=$(cat "$LAB/$name.pid" 2>/dev/null || true)
            if alive "$pid"; then printf '%-26s running (pid %s)\n' "dns-lab $name" "$pid"
            else printf '%-26s stopped\n' "dns-lab $name"; all=0; fi
        done
    fi
    if [ -f "$WEB/nginx/nginx.conf" ]; then
        local names=(nginx) d
        for d in "$WEB"/alpn-*/; do [ -d "$d" ] && names+=("$(basename "$d")"); done
        for name in "${names[@]}"; do
            any=1
            pid=$(cat "$WEB/$name.pid" 2>/dev/null || true)
            if alive "$pid"; then printf '%-26s running (pid %s)\n' "web-lab $name" "$pid"
            else printf '%-26s stopped\n' "web-lab $name"; all=0; fi
        done
    fi
    [ $any = 1 ] || { echo "no cluster in $STATE"; return 1; }
    if [ $all = 1 ] && [ -f "$STATE/cluster.env" ]; then
        grep '^MPIC_URL=' "$STATE/cluster.env" | sed 's/^MPIC_URL=/url: /'
    fi
    [ $all = 1 ]
}

case $CMD in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
esac
