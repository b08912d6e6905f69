#!/usr/bin/env bash
# Throwaway certificates for the orchestrator <-> agent mutual TLS of a local cluster.
#
#   gen-certs.sh DIR CODE...
#
# Writes into DIR (created if needed; earlier files of ours are replaced):
#   ca.crt, ca.key                     a fresh CA that signs everything below
#   orchestrator.crt, orchestrator.key client certificate, CN mpic-orchestrator
#   agent-CODE.crt, agent-CODE.key     server certificate per perspective, CN = CODE,
#                                      SAN localhost and 127.0.0.1
# All keys are ECDSA P-256 (every TLS stack we use accepts it) and mode 0600.
# Not for production: the CA key sits next to the certificates it signed.
set -euo pipefail

usage() { echo "usage: $0 DIR CODE..." >&2; exit 2; }
[ $# -ge 2 ] || usage
DIR=$1; shift
for code in "$@"; do
    [[ $code =~ ^[a-z0-9-]{1,63}$ ]] || { echo "$0: $code: a perspective code is [a-z0-9-], 1-63 characters" >&2; exit 2; }
done
DAYS=${MPIC_CERT_DAYS:-30}

umask 077
mkdir -p "$DIR"
# Replace only what this script owns, so a mistyped DIR never loses anything else.
rm -f "$DIR"/ca.crt "$DIR"/ca.key "$DIR"/ca.srl "$DIR"/orchestrator.crt "$DIR"/orchestrator.key \
      "$DIR"/agent-*.crt "$DIR"/agent-*.key
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign NAME CN EXTENSIONS: a leaf key and certificate issued by the CA.
sign() {
    local name=$1 cn=$2 ext=$3
    newkey "$DIR/$name.key"
    openssl req -new -key "$DIR/$name.key" -subj "/CN=$cn" -out "$WORK/$name.csr"
    printf '%s\n' "$ext" > "$WORK/$name.ext"
    openssl x509 -req -in "$WORK/$name.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" -sha256 \
        -extfile "$WORK/$name.ext" -out "$DIR/$name.crt" 2>/dev/null
}

newkey "$DIR/ca.key"
openssl req -new -x509 -key "$DIR/ca.key" -subj "/CN=mpic local cluster CA $(date -u +%Y%m%dT%H%M%SZ)" \
    -days "$DAYS" -sha256 -set_serial "0x$(openssl rand -hex 16)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$DIR/ca.crt"

LEAF='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid'

sign orchestrator mpic-orchestrator "$LEAF
extendedKeyUsage=clientAuth"
for code in "$@"; do
    sign "agent-$code" "$code" "$LEAF
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
done

chmod 0600 "$DIR"/*.key
chmod 0644 "$DIR"/*.crt
for crt in "$DIR"/orchestrator.crt "$DIR"/agent-*.crt; do
    openssl verify -CAfile "$DIR/ca.crt" "$crt" > /dev/null
done
echo "certificates for: mpic-orchestrator $* in $DIR"
