#!/usr/bin/env bash
# A tls-alpn-01 responder (RFC 8737, RFC 8738) for the integration tests: a self-signed
# challenge certificate made with openssl, served by `openssl s_server` on IP:443.
#
#   tls-alpn-responder.sh IP NAME KEYAUTH [--variant V] [--dir DIR] [--pid-file FILE]
#   tls-alpn-responder.sh --stop PID_FILE
#
# NAME is the identifier being validated: a DNS name (SAN dNSName) or an IP literal (SAN
# iPAddress). KEYAUTH is the key authorization; the certificate carries SHA-256 of it.
# Prints the server's pid on stdout once the port listens (and writes it to FILE).
# Needs root for port 443. Only loopback addresses are accepted.
#
# Variants (what a correct checker must conclude):
#   ok           one SAN = NAME, critical acmeIdentifier = DER OCTET STRING of the hash -> pass
#   no-critical  the acmeIdentifier extension is not marked critical        -> extension_not_critical
#   two-sans     NAME plus a second SAN                                     -> san_count
#   wrong-san    one SAN, but another name                                  -> san_mismatch
#   wrong-hash   the hash of a different key authorization                  -> hash_mismatch
#   no-alpn      a correct certificate, but the server does not speak acme-tls/1 -> alpn_not_negotiated
#   no-ext       no acmeIdentifier extension                                -> extension_missing
set -euo pipefail

usage() {
    echo "usage: $0 IP NAME KEYAUTH [--variant ok|no-critical|two-sans|wrong-san|wrong-hash|no-alpn|no-ext]" \
         "[--dir DIR] [--pid-file FILE] | $0 --stop PID_FILE" >&2
    exit 2
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }

if [ "${1:-}" = --stop ]; then
    [ $# = 2 ] || usage
    pid=$(cat "$2" 2>/dev/null || true)
    # Only our own s_server: a stale pid file may name a pid reused by someone else.
    if alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q '^openssl s_server .*/alpn\.crt '; then
        kill -TERM "$pid"
    fi
    rm -f "$2"
    exit 0
fi

[ $# -ge 3 ] || usage
IP=$1 NAME=$2 KEYAUTH=$3
shift 3
VARIANT=ok DIR='' PIDFILE=''
while [ $# -gt 0 ]; do
    case $1 in
        --variant) [ $# -ge 2 ] || usage; VARIANT=$2; shift 2 ;;
        --dir) [ $# -ge 2 ] || usage; DIR=$2; shift 2 ;;
        --pid-file) [ $# -ge 2 ] || usage; PIDFILE=$2; shift 2 ;;
        *) usage ;;
    esac
done
case $VARIANT in ok|no-critical|two-sans|wrong-san|wrong-hash|no-alpn|no-ext) ;; *) usage ;; esac

# Never anything but loopback: this serves whatever it is asked to.
case $IP in
    127.*) [[ $IP =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || { echo "$0: $IP: bad address" >&2; exit 2; }
           ACCEPT=$IP:443 ;;
    ::1) ACCEPT='[::1]:443' ;;
    *) echo "$0: $IP: not a loopback address (127.0.0.0/8 or ::1)" >&2; exit 2 ;;
esac

# Is ACCEPT listening, by pid $1 if given?
listening() {
    ss -H -lntp 'sport = :443' 2>/dev/null \
        | awk -v a="$ACCEPT" -v p="${1:+pid=$1,}" '$4 == a && (p == "" || index($0, p)) { f = 1 } END { exit !f }'
}
if listening; then echo "$0: $ACCEPT is already in use" >&2; exit 1; fi

if [[ $NAME =~ ^[0-9.]+$ || $NAME == *:* ]]; then SAN_TYPE=IP; else SAN_TYPE=DNS; fi

[ -n "$DIR" ] || DIR=$(mktemp -d /tmp/tls-alpn-responder.XXXXXX)
mkdir -p "$DIR"

hash_of() { printf %s "$1" | openssl dgst -sha256 -binary | od -An -tx1 | tr -d ' \n' | sed 's/../&:/g; s/:$//'; }

H=$(hash_of "$KEYAUTH")
SAN="$SAN_TYPE:$NAME"
EXT="1.3.6.1.5.5.7.1.31=critical,DER:04:20:$H"
case $VARIANT in
    no-critical) EXT="1.3.6.1.5.5.7.1.31=DER:04:20:$H" ;;
    two-sans)    SAN="$SAN,DNS:second-san.example.test" ;;
    wrong-san)   SAN="DNS:wrong-san.example.test" ;;
    wrong-hash)  EXT="1.3.6.1.5.5.7.1.31=critical,DER:04:20:$(hash_of "$KEYAUTH.wrong")" ;;
esac
ADDEXT=(-addext "subjectAltName=$SAN")
[ "$VARIANT" = no-ext ] || ADDEXT+=(-addext "$EXT")

# An identifier that is no valid CN (e.g. longer than 64 octets) gets a fixed one.
CN=$NAME
[ ${#CN} -le 64 ] || CN=acme-tls-alpn
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$CN" \
    "${ADDEXT[@]}" -keyout "$DIR/alpn.key" -out "$DIR/alpn.crt" 2> "$DIR/req.log" \
    || { echo "$0: openssl req failed:" >&2; cat "$DIR/req.log" >&2; exit 1; }

ALPN=(-alpn acme-tls/1)
[ "$VARIANT" = no-alpn ] && ALPN=()
# -www: finish each handshake, answer, and go on to the next connection until killed
# (the interactive mode would read stdin instead).
setsid openssl s_server -quiet -www -accept "$ACCEPT" -cert "$DIR/alpn.crt" -key "$DIR/alpn.key" \
    "${ALPN[@]}" > "$DIR/s_server.log" 2>&1 < /dev/null &
PID=$!
[ -z "$PIDFILE" ] || echo "$PID" > "$PIDFILE"

for _ in $(seq 200); do
    if ! alive "$PID"; then
        echo "$0: openssl s_server on $ACCEPT exited:" >&2; cat "$DIR/s_server.log" >&2
        [ -z "$PIDFILE" ] || rm -f "$PIDFILE"
        exit 1
    fi
    if listening "$PID"; then
        echo "$PID"
        exit 0
    fi
    sleep 0.02
done
echo "$0: openssl s_server on $ACCEPT does not listen after 4 s" >&2
kill -TERM "$PID" 2>/dev/null || true
exit 1
