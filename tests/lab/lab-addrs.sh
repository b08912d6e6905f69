# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Sourced by dns-lab.sh, web-lab.sh and scripts/local-cluster.sh: where the web lab of the DNS
# lab on 127.X.Y.N lives. Host octet 10N+K keeps the labs of neighbouring addresses (127.0.62.1
# and 127.0.62.2 run side by side in the DNSSEC tests) apart. The zones name these addresses.
#
#   lab_addrs LAB_IP   sets WEB_IP (nginx, :80 and :443), ALPN_*_IP (one tls-alpn-01 responder
#                      each, :443) and CLOSED_IP (nothing listens); returns 1 with a message
#                      when N is not 1..24.
#   web_addrs WEB_IP   the same, from the nginx address (host octet 10N+1)

# ALPN responders by variant (tls-alpn-responder.sh), in address order after WEB_IP.
LAB_ALPN_VARIANTS="ok no-critical two-sans wrong-hash no-alpn wrong-san no-ext"

_lab_set() {   # _lab_set PREFIX BASE (BASE = 10N)
    WEB_IP=$1.$(($2 + 1))
    ALPN_OK_IP=$1.$(($2 + 2))
    ALPN_NO_CRITICAL_IP=$1.$(($2 + 3))
    ALPN_TWO_SANS_IP=$1.$(($2 + 4))
    ALPN_WRONG_HASH_IP=$1.$(($2 + 5))
    ALPN_NO_ALPN_IP=$1.$(($2 + 6))
    ALPN_WRONG_SAN_IP=$1.$(($2 + 7))
    ALPN_NO_EXT_IP=$1.$(($2 + 8))
    CLOSED_IP=$1.$(($2 + 9))
}

lab_addrs() {
    local n=${1##*.}
    if ! [[ $1 =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 24 ]; then
        echo "lab address $1: must be 127.X.Y.N with N = 1..24 (its web lab uses 127.X.Y.10N+1..+9)" >&2
        return 1
    fi
    _lab_set "${1%.*}" $((n * 10))
}

web_addrs() {
    local n=${1##*.}
    if ! [[ $1 =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || [ "$n" -lt 11 ] || [ "$n" -gt 241 ] \
       || [ $(((n - 1) % 10)) != 0 ]; then
        echo "web address $1: must be 127.X.Y.M with M = 10N+1 (N = 1..24)" >&2
        return 1
    fi
    _lab_set "${1%.*}" $((n - 1))
}

# alpn_ip VARIANT: the responder address of a variant (after lab_addrs or web_addrs).
alpn_ip() {
    case $1 in
        ok) echo "$ALPN_OK_IP" ;; no-critical) echo "$ALPN_NO_CRITICAL_IP" ;;
        two-sans) echo "$ALPN_TWO_SANS_IP" ;; wrong-hash) echo "$ALPN_WRONG_HASH_IP" ;;
        no-alpn) echo "$ALPN_NO_ALPN_IP" ;; wrong-san) echo "$ALPN_WRONG_SAN_IP" ;;
        no-ext) echo "$ALPN_NO_EXT_IP" ;; *) return 1 ;;
    esac
}
