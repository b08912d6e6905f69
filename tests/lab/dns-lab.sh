#!/usr/bin/env bash
# The DNS lab: real authoritative and validating servers on one loopback address, so CAA
# tests never depend on the Internet and nothing leaves the machine.
#
#   dns-lab.sh STATE_DIR IP [--alt]  start the lab, print one line when it answers
#   dns-lab.sh --stop STATE_DIR      stop it (by the pids in STATE_DIR/*.pid)
#
# --alt: a second lab whose zones differ where the DCV quorum tests need perspectives to
# disagree (today _acme-challenge.dcvquorum.example.test holds another value).
# The zones name the web lab's addresses (web-lab.sh): for a lab on 127.X.Y.N (N = 1..24),
# 127.X.Y.(10N+1) .. 127.X.Y.(10N+9); see lab-addrs.sh.
#
# On IP: knot (authoritative, signs example.test, deny.test and conformance.test, serves bogus.test,
# expired.test and nosig.test as signed-then-broken by ldns-signzone) on :5300; unbound
# (validating, refuses every name outside the lab) on :5353 -- the agents' resolver;
# fail-dns.py answering SERVFAIL on :5310, REFUSED on :5311 and nothing on :5312.
# Each lab needs its own STATE_DIR (knot locks its database there). No root needed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3   # not a pyenv shim: $! must be the server itself

usage() { echo "usage: $0 STATE_DIR IP [--alt] | $0 --stop STATE_DIR" >&2; exit 2; }

# A zombie counts as gone: it has exited, and its reaper (pid 1 here) may be slow about it.
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }

# Only a process started for this lab: knotd and unbound name DIR in their config path,
# fail-dns.py names itself. A stale pid file may point at a pid reused by someone else.
ours() {
    local cmd
    cmd=$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null) || return 1
    case $cmd in *"$2/"*|*/fail-dns.py\ *) return 0 ;; *) return 1 ;; esac
}

# TERM every pid in DIR/*.pid, give them 5 s, then KILL the rest.
stop_lab() {
    local dir=$1 f pid pids=() i
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    for f in "$dir"/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        if alive "$pid" && ours "$pid" "$dir"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    done
    for i in $(seq 50); do
        local left=0
        for pid in "${pids[@]}"; do alive "$pid" && left=1; done
        [ $left = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    rm -f "$dir"/*.pid
}

if [ "${1:-}" = --stop ]; then
    [ $# = 2 ] || usage
    stop_lab "$2"
    exit 0
fi
ALT=0
if [ $# = 3 ] && [ "$3" = --alt ]; then ALT=1; set -- "$1" "$2"; fi
[ $# = 2 ] || usage
D=$1 IP=$2
[[ $IP =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || { echo "$0: $IP: not a 127.0.0.0/8 address" >&2; exit 2; }
# shellcheck source=tests/lab/lab-addrs.sh
. "$HERE"/lab-addrs.sh
lab_addrs "$IP" || exit 2
QUORUM_VALUE=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
[ $ALT = 0 ] || QUORUM_VALUE=a-value-only-the-alt-lab-serves

mkdir -p "$D"
D=$(cd "$D" && pwd)
for f in "$D"/*.pid; do
    [ -f "$f" ] || continue
    if alive "$(cat "$f")"; then echo "$0: a lab is already running in $D ($f)" >&2; exit 1; fi
done
# knot binds with SO_REUSEPORT, so a second lab on the same address would start "fine"
# and answer from the first one's zones: refuse up front instead.
for port in 5300 5353 5310 5311 5312; do
    if [ -n "$(ss -H -lntu "src $IP and sport = :$port" 2>/dev/null)" ] \
       || (exec 3<>"/dev/tcp/$IP/$port") 2>/dev/null; then
        echo "$0: $IP:$port is already in use (another lab on this address?)" >&2; exit 1
    fi
done
rm -rf "$D"/knot "$D"/unbound "$D"/*.pid "$D"/*.log
mkdir -p "$D"/knot/zones "$D"/knot/db "$D"/knot/run "$D"/unbound

AUTH=$IP@5300
SIGNED="example.test deny.test conformance.test"
# The last three: names the Open MPIC reference's public suites ask about (test_upstream_forms.py).
UNSIGNED="other.test many.test 113.0.203.in-addr.arpa 8.b.d.0.1.0.0.2.ip6.arpa caatestsuite.com open-mpic.org
          integration-testing.open-mpic.org"
PRESIGNED="bogus.test expired.test nosig.test"   # signed here by ldns-signzone, then broken
CHILDREN="insecure.example.test"                 # reached by delegation only: no stub-zone
LAB_ZONES="$SIGNED $UNSIGNED $PRESIGNED"
FAILING="rcode2:5310:servfail rcode5:5311:refused silent:5312:silent"
# Extra stub-zones to the failing servers: NAME:PORT. indeterminate.test is outside every
# trust anchor (Indeterminate), broken.insecure.example.test below a proven-Insecure cut.
FAILING_STUBS="broken.insecure.example.test:5310 indeterminate.test:5310"
# The caatestsuite names whose lookups must fail (their IPv6-only and broken-DNSSEC servers, offline).
FAILING_STUBS+=" ipv6only.caatestsuite.com:5310 servfail.caatestsuite-dnssec.com:5310"
FAILING_STUBS+=" refused.caatestsuite-dnssec.com:5311 blackhole.caatestsuite-dnssec.com:5312"

# On any failure below, stop whatever already started and show why.
# shellcheck disable=SC2154  # rc is assigned inside the trap
trap 'rc=$?; if [ $rc != 0 ]; then echo "$0: start-up failed; logs in $D" >&2; stop_lab "$D"; fi' EXIT

# @LAB_IP@, the web lab's addresses (lab-addrs.sh) and the value --alt changes.
template() {
    sed -e "s/@LAB_IP@/$IP/g" -e "s/@WEB_IP@/$WEB_IP/g" -e "s/@ALPN_OK_IP@/$ALPN_OK_IP/g" \
        -e "s/@ALPN_NO_CRITICAL_IP@/$ALPN_NO_CRITICAL_IP/g" -e "s/@ALPN_TWO_SANS_IP@/$ALPN_TWO_SANS_IP/g" \
        -e "s/@ALPN_WRONG_HASH_IP@/$ALPN_WRONG_HASH_IP/g" -e "s/@ALPN_NO_ALPN_IP@/$ALPN_NO_ALPN_IP/g" \
        -e "s/@ALPN_WRONG_SAN_IP@/$ALPN_WRONG_SAN_IP/g" -e "s/@ALPN_NO_EXT_IP@/$ALPN_NO_EXT_IP/g" \
        -e "s/@CLOSED_IP@/$CLOSED_IP/g" -e "s/@QUORUM_VALUE@/$QUORUM_VALUE/g" "$1"
}
Z=$D/knot/zones
for z in example.test other.test deny.test conformance.test 113.0.203.in-addr.arpa 8.b.d.0.1.0.0.2.ip6.arpa \
         caatestsuite.com open-mpic.org integration-testing.open-mpic.org $CHILDREN; do
    template "$HERE/zones/$z.zone" > "$Z/$z.zone"
    if grep -q '@[A-Z_]*@' "$Z/$z.zone"; then echo "$0: $z.zone: unknown placeholder left" >&2; exit 1; fi
done
# Pre-signed zones, broken after signing so that validation fails in three ways; knot
# serves them as they are (no dnssec-signing), and their DS is a trust anchor all the same.
K=$D/keys
rm -rf "$K"; mkdir -p "$K"
for z in $PRESIGNED; do
    template "$HERE/zones/$z.zone" > "$K/$z"
    dates=()
    [ "$z" = expired.test ] && dates=(-i 20200101 -e 20200201)   # RRSIGs expired long ago
    ( cd "$K"
      ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$z") && zsk=$(ldns-keygen -a ECDSAP256SHA256 "$z") \
          && ldns-signzone "${dates[@]}" -f "$Z/$z.zone" "$z" "$zsk" "$ksk" && cat "$ksk.ds" >> "$K/presigned.ds" ) \
        || { echo "$0: cannot sign $z" >&2; exit 1; }
done
sed -i -E 's/(\sCAA\s+0 issue )"ca\.example\.net"/\1"evil.example.net"/' "$Z/bogus.test.zone"   # data != RRSIG
sed -i -E '/\sRRSIG\s+CAA\s/d' "$Z/nosig.test.zone"                                            # CAA RRSIG gone
grep -q 'evil.example.net' "$Z/bogus.test.zone" && ! grep -qE '\sRRSIG\s+CAA\s' "$Z/nosig.test.zone" \
    || { echo "$0: breaking the pre-signed zones failed" >&2; exit 1; }
{   # 1001 issue records: the RRset is ~36 kB, far beyond UDP, so it only comes over TCP.
    printf '; many.test: a CAA RRset too big for UDP. Generated by dns-lab.sh.\n'
    printf '%s\n' "\$ORIGIN many.test." "\$TTL 60"
    printf '@ SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 60\n'
    printf '@ NS ns1.example.test.\n'
    for i in $(seq 1000); do printf '@ CAA 0 issue "ca%d.example.org"\n' "$i"; done
    printf '@ CAA 0 issue "ca.example.net"\n'
} > "$Z/many.test.zone"

{
    cat <<KNOT
server:
    rundir: "$D/knot/run"
    listen: $AUTH
database:
    storage: "$D/knot/db"
template:
  - id: default
    storage: "$Z"
    file: "%s.zone"
    zonefile-sync: -1                    # never write back into our zone files
    zonefile-load: difference-no-serial  # signing changes the serial in the journal only
    journal-content: all
zone:
KNOT
    for z in $SIGNED; do printf '  - domain: %s\n    dnssec-signing: on\n' "$z"; done
    for z in $UNSIGNED $PRESIGNED $CHILDREN; do printf '  - domain: %s\n' "$z"; done   # served as they are
} > "$D"/knot/knot.conf

setsid knotd -c "$D"/knot/knot.conf > "$D"/knotd.log 2>&1 < /dev/null &
echo $! > "$D"/knotd.pid
for f in $FAILING; do
    IFS=: read -r _ port mode <<< "$f"
    setsid "$PY" "$HERE"/fail-dns.py "$IP" "$port" "$mode" > "$D/fail-$mode.log" 2>&1 < /dev/null &
    echo $! > "$D/fail-$mode.pid"
done

# TCP is refused at once until the port is bound; a UDP probe would sit out its timeout.
ready() {
    local port=$1 query=$2 i
    for i in $(seq 300); do
        # shellcheck disable=SC2086  # $query is two words, TYPE NAME
        kdig +tcp +short +time=1 +retry=0 @"$IP" -p "$port" $query 2>/dev/null | grep -q . && return 0
        sleep 0.02
    done
    echo "$0: no answer from $IP:$port to '$query'" >&2
    return 1
}
for z in $SIGNED; do ready 5300 "DNSKEY $z"; done

T=$D/unbound/trust-anchors.ds
cp "$K/presigned.ds" "$T"
for z in $SIGNED; do   # the KSK's DS, algorithm 13 (ECDSA P-256), digest SHA-256
    keymgr -c "$D"/knot/knot.conf "$z" ds | awk '$4 == 13 && $5 == 2' >> "$T"
    grep -q "^$z\\.\\? .*DS" "$T" || { echo "$0: no DS for $z from keymgr" >&2; exit 1; }
done

{
    cat <<UNB
server:
    interface: $IP@5353
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$D/unbound"
    pidfile: "$D/unbound/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2                  # say why each validation failed
    do-not-query-localhost: no        # our upstreams are on 127.0.0.0/8
    module-config: "validator iterator"
    trust-anchor-file: "$T"
    local-zone: "." refuse            # everything outside the lab is REFUSED, nothing leaves
    cache-max-ttl: 5
    cache-max-negative-ttl: 5
    qname-minimisation: no
    ede: yes                          # RFC 8914 extended errors on SERVFAIL
    val-bogus-ttl: 1                  # a cached bogus answer reports only EDE 6: keep the precise code
    discard-timeout: 0                # answer SERVFAIL rather than drop a slow query
    infra-cache-max-rtt: 1000         # give up on the silent server after ~2 s, not ~17 s
    # Six agents under load send bursts of hundreds of queries at once: with the default
    # socket buffer (~200 KB, a few hundred datagrams) the kernel drops some, and each drop
    # costs a check its resolver retry (1.5 s). 4 MB is net.core.rmem_max's usual ceiling.
    so-rcvbuf: 4m
    so-sndbuf: 4m
    num-queries-per-thread: 4096
UNB
    for z in $LAB_ZONES; do printf '    local-zone: "%s." transparent\n' "$z"; done
    # CAA tree climbing from the open-mpic.org names ends at "org", which has no CAA on the Internet.
    printf '    local-zone: "org." static\n    local-data: "org. 60 IN SOA a.lab.invalid. b.lab.invalid. 1 60 60 60 60"\n'
    for f in $FAILING_STUBS; do printf '    local-zone: "%s." transparent\n' "${f%:*}"; done
    printf 'remote-control:\n    control-enable: no\n'
    for z in $LAB_ZONES; do printf 'stub-zone:\n    name: "%s."\n    stub-addr: %s\n' "$z" "$AUTH"; done
    for f in $FAILING; do
        IFS=: read -r label port _ <<< "$f"
        printf 'stub-zone:\n    name: "%s.example.test."\n    stub-addr: %s@%s\n' "$label" "$IP" "$port"
    done
    for f in $FAILING_STUBS; do
        printf 'stub-zone:\n    name: "%s."\n    stub-addr: %s@%s\n' "${f%:*}" "$IP" "${f#*:}"
    done
} > "$D"/unbound/unbound.conf

setsid unbound -d -c "$D"/unbound/unbound.conf > "$D"/unbound.log 2>&1 < /dev/null &
echo $! > "$D"/unbound.pid
ready 5353 "SOA example.test"
for f in $FAILING; do
    IFS=: read -r _ port mode <<< "$f"
    alive "$(cat "$D/fail-$mode.pid")" || { echo "$0: fail-dns.py $mode on :$port died" >&2; cat "$D/fail-$mode.log" >&2; exit 1; }
done

[ $ALT = 0 ] || echo "alt zones (--alt): _acme-challenge.dcvquorum.example.test differs"
echo "dns lab ready: resolver $IP:5353 (validating), authoritative $IP:5300," \
     "failing $IP:5310-5312; state $D; stop: $0 --stop $D"
