#!/usr/bin/env bash
# From a fresh checkout to three answered MPIC checks:
#   1. scripts/setup.sh             Debian packages and the build in build/
#   2. scripts/local-cluster.sh up  DNS lab, agents and orchestrator on loopback
#   3. three CAA checks through the orchestrator's Open MPIC API, summarised
#
#   demo.sh [--port N] [--state DIR] [--agents N] [--lab-ip IP] [--build DIR] [--no-setup]
#
# The cluster keeps running afterwards; stop it with scripts/local-cluster.sh down.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
CLUSTER_ARGS=() STATE=/tmp/mpic-cluster SETUP=1 BUILD=${BUILD_DIR:-}
while [ $# -gt 0 ]; do
    case $1 in
        --port|--state|--agents|--lab-ip|--build)
            [ $# -ge 2 ] || { echo "demo.sh: $1 needs a value" >&2; exit 2; }
            case $1 in
                --build) BUILD=$2 ;;
                --state) STATE=$2; CLUSTER_ARGS+=("$1" "$2") ;;
                *) CLUSTER_ARGS+=("$1" "$2") ;;
            esac
            shift 2 ;;
        --no-setup) SETUP=0; shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }

if [ $SETUP = 1 ]; then
    step "setup: packages and build (scripts/setup.sh)"
    [ -x "$REPO/scripts/setup.sh" ] || { echo "demo.sh: $REPO/scripts/setup.sh is missing" >&2; exit 1; }
    "$REPO/scripts/setup.sh" ${BUILD:+--build "$BUILD"}
fi
# setup.sh and local-cluster.sh agree on <repo>/build unless told otherwise.
[ -z "$BUILD" ] || CLUSTER_ARGS+=(--build "$BUILD")

step "starting the local cluster"
# Anything still running in the state dir (even half a cluster) would make up refuse.
current=$("$REPO/scripts/local-cluster.sh" status "${CLUSTER_ARGS[@]}" 2>/dev/null || true)
if grep -q 'running (pid' <<< "$current"; then
    echo "a cluster is already running in $STATE: restarting it with the current build"
    "$REPO/scripts/local-cluster.sh" down "${CLUSTER_ARGS[@]}"
fi
"$REPO/scripts/local-cluster.sh" up "${CLUSTER_ARGS[@]}"
STATE=$(cd "$STATE" && pwd)
MPIC_URL=$(sed -n 's/^MPIC_URL=//p' "$STATE/cluster.env")
MPIC_API_KEY=$(sed -n 's/^MPIC_API_KEY=//p' "$STATE/cluster.env")

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Prints a few lines per response: the verdict, the orchestration, each perspective's view.
cat > "$TMP/summary.py" <<'PY'
import json, sys
target, expect, status, path = sys.argv[1:5]
raw = open(path, encoding="utf-8").read()
if status != "200":
    print(f"   HTTP {status}: {raw.strip()[:400]}")
    sys.exit(1)
r = json.loads(raw)
ok = r.get("is_valid") is (expect == "permitted")
a = r.get("actual_orchestration_parameters") or {}
lower = lambda v: json.dumps(v)
print(f"   is_valid={lower(r.get('is_valid'))}  mpic_completed={lower(r.get('mpic_completed'))}"
      f"  perspectives={a.get('perspective_count')} quorum={a.get('quorum_count')}"
      f" attempts={a.get('attempt_count')}  -> " + ("as expected" if ok else f"UNEXPECTED (wanted {expect})"))
for p in r.get("perspectives") or []:
    c = p.get("check_response") or {}
    d = c.get("details") or {}
    verdict = "passed" if c.get("check_passed") else ("failed" if c.get("check_completed") else "no answer")
    line = f"   {p.get('perspective_code', '?'):<15} {verdict:<9} found_at={d.get('found_at')}"
    seen = d.get("records_seen") or []
    if seen:
        line += "  records: " + ", ".join(seen[:3]) + (f" (+{len(seen) - 3} more)" if len(seen) > 3 else "")
    for e in c.get("errors") or []:
        line += f"  error: {e.get('error_type')}: {e.get('error_message')}"
    print(line)
sys.exit(0 if ok else 1)
PY

unexpected=0 n=0
check() {   # check TARGET EXPECT(permitted|denied) WHY [EXTRA_JSON_MEMBERS]
    local target=$1 expect=$2 why=$3 extra=${4:-'"check_type":"caa"'} status
    n=$((n + 1))
    step "check $n: $target -- $why (expect: $expect)"
    status=$(curl -sS -o "$TMP/$n.json" -w '%{http_code}' --max-time 40 \
        -H "x-api-key: $MPIC_API_KEY" -H 'content-type: application/json' \
        -d "{$extra,\"domain_or_ip_target\":\"$target\",\"trace_identifier\":\"demo-$n\"}" \
        "$MPIC_URL/mpic") || status=000
    "$PY" "$TMP/summary.py" "$target" "$expect" "$status" "$TMP/$n.json" || unexpected=$((unexpected + 1))
}

check example.test        permitted 'apex CAA: 0 issue "ca.example.net"'
check deny.example.test   denied    'CAA names only another CA (other-ca.example.org)'
check '*.wildok.example.test' permitted 'issue ";" but issuewild "ca.example.net"'
check dcv.example.test    permitted 'DCV acme-dns-01: the TXT at _acme-challenge holds the key authorization hash' \
    '"check_type":"dcv","dcv_check_parameters":{"validation_method":"acme-dns-01","key_authorization_hash":"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"}'

step "full response of check 1 (example.test)"
"$PY" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), indent=2, ensure_ascii=False))' "$TMP/1.json" \
    2>/dev/null || cat "$TMP/1.json"

STOP="scripts/local-cluster.sh down"
[ "$STATE" = /tmp/mpic-cluster ] || STOP+=" --state $STATE"
step "done"
echo "the cluster is still running at $MPIC_URL (API key in $STATE/cluster.env)"
echo "stop it with: $STOP"
if [ $unexpected != 0 ]; then
    echo "demo.sh: $unexpected of $n checks did not give the expected result" >&2
    exit 1
fi
