#!/usr/bin/env bash
# The Debian packages, end to end (as CI runs it: root on a fresh Debian 12, no systemd):
#  1. scripts/package.sh builds them; apt-get installs them from dist/ (dependencies resolved);
#  2. both daemons answer --version; the user, group and directories exist with their modes;
#     systemd-analyze verifies the installed units (when it is installed);
#  3. the packaged example configurations, installed as /etc/mpic/{orchestrator,agent}.json
#     with throwaway certificates (root:mpic 0640, the layout docs/operations.md describes),
#     pass -t run as user mpic, as the units run them;
#  4. scripts/local-cluster.sh runs the packaged binaries (/usr/sbin: six agents and the
#     orchestrator under cabf-br, the DNS and web labs) and a CAA and a DCV request are valid;
#  5. apt-get purge removes them, and what this test added goes too.
# usage: tests/package/test-package.sh   (root; MPIC_IT_LOCK=FILE makes it take that lock
#        around its cluster, for machines where several test runs share loopback addresses)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ME=test-package
if [ "$(id -u)" != 0 ]; then
    echo "$ME: SKIPPED: installing packages needs root (run as root, as CI does)"
    exit 0
fi
fail() { echo "$ME: FAIL: $*" >&2; exit 1; }
PKGS=()   # what this test installed, for the purge
for p in mpic-orchestrator mpic-agent mpic-cli; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'ok installed' \
        && fail "$p is already installed here; this test installs and purges the packages itself"
done
[ -z "$(ls -A /etc/mpic 2> /dev/null)" ] || fail "/etc/mpic is not empty; this test writes its own configuration there"
getent passwd mpic > /dev/null && NEW_USER=0 || NEW_USER=1

WORK=$(mktemp -d)
STATE=$WORK/cluster
PORT=18480 LAB_IP=127.0.84.1
# The integration lock is held on fd 9 from before the cluster starts until it is down. The
# cluster's processes must not inherit that descriptor (9>&-), or they would hold the lock.
cleanup() {
    local rc=$?
    if [ -d "$STATE" ]; then
        "$ROOT"/scripts/local-cluster.sh down --state "$STATE" > /dev/null 2>&1 9>&- || true
    fi
    rm -f /etc/mpic/orchestrator.json /etc/mpic/agent.json
    rm -rf /etc/mpic/certs /etc/mpic/secrets /var/log/mpic/audit.jsonl
    [ ${#PKGS[@]} = 0 ] || DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${PKGS[@]}" > "$WORK/purge.log" 2>&1 || true
    if [ "$NEW_USER" = 1 ]; then userdel mpic 2> /dev/null || true; groupdel mpic 2> /dev/null || true; fi
    [ $rc = 0 ] || { echo "$ME: logs kept in $WORK" >&2; exit $rc; }
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "$ME: building the packages"
"$ROOT"/scripts/package.sh --out "$WORK/dist" > "$WORK/package.log" 2>&1 || { tail -30 "$WORK/package.log"; fail "package.sh"; }
debs=("$WORK"/dist/mpic-*.deb)
[ -e "${debs[0]}" ] || fail "package.sh wrote no package"
for role in orchestrator agent; do
    ls "$WORK/dist/mpic-${role}_"*.deb > /dev/null 2>&1 || fail "no mpic-$role package"
done
for deb in "${debs[@]}"; do PKGS+=("$(dpkg-deb -f "$deb" Package)"); done
echo "$ME: installing $(cd "$WORK/dist" && echo mpic-*.deb)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${debs[@]}" > "$WORK/install.log" 2>&1 \
    || { tail -30 "$WORK/install.log"; fail "apt-get install"; }

version=$(sed -n 's/^project(mpic VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
for d in mpic-orchestrator mpic-agent; do
    [ -x /usr/sbin/$d ] || fail "/usr/sbin/$d missing"
    [ "$(/usr/sbin/$d --version)" = "$d $version" ] || fail "$d --version: $(/usr/sbin/$d --version)"
    [ "$(/usr/sbin/$d -V)" = "$d $version" ] || fail "$d -V"
    unit=/lib/systemd/system/$d.service
    [ -f "$unit" ] || fail "$unit missing"
    dpkg -L "$d" | grep -qx "/usr/share/man/man8/$d.8" || fail "$d ships no $d(8)"
done
dpkg -L mpic-orchestrator | grep -qx /usr/share/man/man5/mpic.conf.5 || fail "no mpic.conf(5)"
[ "$(stat -c %U:%G:%a /etc/mpic)" = root:mpic:750 ] || fail "/etc/mpic is $(stat -c %U:%G:%a /etc/mpic)"
for dir in /var/lib/mpic /var/log/mpic; do
    [ "$(stat -c %U:%G:%a $dir)" = mpic:mpic:750 ] || fail "$dir is $(stat -c %U:%G:%a $dir)"
done
[ "$(getent passwd mpic | cut -d: -f7)" = /usr/sbin/nologin ] || fail "user mpic has a login shell"
if command -v systemd-analyze > /dev/null; then
    systemd-analyze verify /lib/systemd/system/mpic-orchestrator.service /lib/systemd/system/mpic-agent.service \
        > "$WORK/verify.log" 2>&1 || { cat "$WORK/verify.log"; fail "systemd-analyze verify"; }
    # verify exits 0 on some warnings: none is expected from our units.
    ! grep -q 'mpic-' "$WORK/verify.log" || { cat "$WORK/verify.log"; fail "systemd-analyze verify warns"; }
    echo "$ME: systemd-analyze verify: both units clean"
else
    echo "$ME: systemd-analyze not installed; units not verified"
fi
echo "$ME: installed; --version: $version; user, directories and units in place"

# The packaged examples as the units read them: /etc/mpic, secrets root:mpic 0640, run as mpic.
# The audit log of the orchestrator's example goes to /var/log/mpic, which mpic may write.
cp /usr/share/doc/mpic-orchestrator/examples/orchestrator.json /usr/share/doc/mpic-agent/examples/agent.json /etc/mpic/
"$ROOT"/scripts/gen-certs.sh /etc/mpic/certs eu-west-1 > "$WORK/gen-certs.log"
cp /etc/mpic/certs/agent-eu-west-1.crt /etc/mpic/certs/server.crt
cp /etc/mpic/certs/agent-eu-west-1.key /etc/mpic/certs/server.key
install -d -m 0750 /etc/mpic/secrets
( umask 077; openssl rand -hex 24 > /etc/mpic/secrets/api-key.next; openssl rand -hex 32 > /etc/mpic/secrets/cohort-secret )
chgrp -R mpic /etc/mpic
chmod -R g+rX,o-rwx /etc/mpic
as_mpic() { setpriv --reuid=mpic --regid=mpic --init-groups --inh-caps=-all "$@"; }
as_mpic env MPIC_API_KEY=current-key-0123456789abcdef0123456789 /usr/sbin/mpic-orchestrator -c /etc/mpic/orchestrator.json -t \
    > "$WORK/orchestrator.check" 2>&1 || { cat "$WORK/orchestrator.check"; fail "packaged orchestrator example -t as mpic"; }
as_mpic /usr/sbin/mpic-agent -c /etc/mpic/agent.json -t > "$WORK/agent.check" 2>&1 \
    || { cat "$WORK/agent.check"; fail "packaged agent example -t as mpic"; }
# The modes matter: a user outside group mpic cannot read the agent's key.
if setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/sbin/mpic-agent -c /etc/mpic/agent.json -t \
        > "$WORK/nobody.check" 2>&1; then
    fail "user nobody could load /etc/mpic/agent.json and its key"
fi
echo "$ME: packaged example configurations pass -t as user mpic from /etc/mpic"

echo "$ME: cluster of packaged daemons"
LOCK=${MPIC_IT_LOCK:-}
if [ -n "$LOCK" ]; then exec 9> "$LOCK"; flock 9; fi
"$ROOT"/scripts/local-cluster.sh up --build /usr/sbin --state "$STATE" --port $PORT --lab-ip $LAB_IP \
    > "$WORK/cluster.log" 2>&1 9>&- || { cat "$WORK/cluster.log"; fail "local-cluster.sh up --build /usr/sbin"; }
for pid in "$STATE"/pids/*.pid; do
    tr '\0' ' ' < /proc/"$(cat "$pid")"/cmdline | grep -Eq '^/usr/sbin/mpic-(orchestrator|agent) ' \
        || fail "$(basename "$pid" .pid) does not run a packaged binary"
done
set -a
# shellcheck source=/dev/null  # cluster.env is written by local-cluster.sh up
. "$STATE/cluster.env"
set +a
ask() {   # ask NAME JSON: POST it, expect a 200 with is_valid true
    local out=$WORK/$1.json code
    code=$(curl -s -o "$out" -w '%{http_code}' --max-time 30 -H "x-api-key: $MPIC_API_KEY" \
        -H 'content-type: application/json' -d "$2" "$MPIC_URL/v1/mpic")
    [ "$code" = 200 ] || { cat "$out"; fail "$1: HTTP $code"; }
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["is_valid"] is True else 1)' "$out" \
        || { cat "$out"; fail "$1: is_valid is not true"; }
    echo "$ME: $1 through the packaged cluster: is_valid true"
}
ask caa '{"check_type":"caa","domain_or_ip_target":"example.test"}'
ask dcv '{"check_type":"dcv","domain_or_ip_target":"dcv.example.test","dcv_check_parameters":{
          "validation_method":"acme-dns-01","key_authorization_hash":"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"}}'
"$ROOT"/scripts/local-cluster.sh down --state "$STATE" > /dev/null 9>&-
rm -rf "$STATE"
[ -z "$LOCK" ] || exec 9>&-

rm -f /etc/mpic/orchestrator.json /etc/mpic/agent.json /var/log/mpic/audit.jsonl
rm -rf /etc/mpic/certs /etc/mpic/secrets
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${PKGS[@]}" > "$WORK/purge.log" 2>&1 \
    || { tail -20 "$WORK/purge.log"; fail "apt-get purge"; }
for p in "${PKGS[@]}"; do
    ! dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'installed' || fail "$p still installed after purge"
done
for f in /usr/sbin/mpic-orchestrator /usr/sbin/mpic-agent /lib/systemd/system/mpic-agent.service /etc/mpic /var/lib/mpic /var/log/mpic; do
    [ ! -e "$f" ] || fail "$f left after purge"
done
echo "$ME: purged; PASS"
