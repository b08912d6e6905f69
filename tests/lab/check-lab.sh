#!/usr/bin/env bash
# Asks a running DNS lab (dns-lab.sh) every question the CAA tests rely on and compares
# the answers with what the zones promise. usage: check-lab.sh IP   (exit 0 = all match)
set -uo pipefail
IP=${1:?usage: check-lab.sh IP}
fails=0 rows=0

# row NAME STATUS AD EXPECTED [KDIG_OPTION...]
#   STATUS: the rcode; AD: ad or - (must the answer be authenticated?);
#   EXPECTED: the answer's CNAME targets and CAA records, sorted, joined by " | ".
row() {
    local name=$1 status=$2 ad=$3 want=$4; shift 4
    local out got st flags
    rows=$((rows + 1))
    out=$(kdig @"$IP" -p 5353 +dnssec +time=5 +retry=0 "$@" CAA "$name" 2>&1)
    st=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<< "$out" | head -1)
    flags=$(sed -n 's/^;; Flags: \([a-z ]*\);.*/\1/p' <<< "$out" | head -1)
    got=$(awk '/^;; ANSWER SECTION/ {a = 1; next} /^;; / {a = 0} a && ($4 == "CAA" || $4 == "CNAME") {
                   $1 = $2 = $3 = ""; sub(/^ +/, ""); sub(/ +$/, ""); print }' <<< "$out" | sort | paste -sd'|' | sed 's/|/ | /g')
    local ok=1
    [ "$st" = "$status" ] || ok=0
    [ "$got" = "$want" ] || ok=0
    case " $flags " in *" ad "*) [ "$ad" = ad ] || ok=0 ;; *) [ "$ad" = - ] || ok=0 ;; esac
    if [ $ok = 1 ]; then
        printf 'ok    %-30s %-8s %-3s %s\n' "$name" "$st" "$ad" "$got"
    else
        printf 'FAIL  %-30s got %s [%s] %s; want %s %s %s\n' "$name" "$st" "$flags" "$got" "$status" "$ad" "$want"
        fails=$((fails + 1))
    fi
}

row example.test                NOERROR  ad 'CAA 0 issue "ca.example.net"'
row www.example.test            NOERROR  ad ''
row deny.example.test           NOERROR  ad 'CAA 0 issue "other-ca.example.org"'
row empty-issuer.example.test   NOERROR  ad 'CAA 0 issue ";"'
row a.b.climbdeny.example.test  NXDOMAIN ad ''
row b.climbdeny.example.test    NXDOMAIN ad ''
row climbdeny.example.test      NOERROR  ad 'CAA 0 issue "other-ca.example.org"'
row x.y.climb.example.test      NXDOMAIN ad ''
row climb.example.test          NOERROR  ad 'CAA 0 issue "ca.example.net"'
row wild.example.test           NOERROR  ad 'CAA 0 issue "ca.example.net" | CAA 0 issuewild ";"'
row wildok.example.test         NOERROR  ad 'CAA 0 issue ";" | CAA 0 issuewild "ca.example.net"'
row cname.example.test          NOERROR  -  'CAA 0 issue "other-ca.example.org" | CNAME target.other.test.'
row chain.example.test          NOERROR  -  'CAA 0 issue "other-ca.example.org" | CNAME hop1.other.test. | CNAME hop2.other.test.'
row dangling.example.test       NXDOMAIN -  'CNAME nothing.other.test.'
row critical.example.test       NOERROR  ad 'CAA 0 issue "ca.example.net" | CAA 128 tbs "unknown"'
row mixedcase.example.test      NOERROR  ad 'CAA 0 IsSuE "ca.example.net"'
row smime.example.test          NOERROR  ad 'CAA 0 issue ";" | CAA 0 issuemail "ca.example.net"'
row rcode2.example.test         SERVFAIL -  ''
row rcode5.example.test         SERVFAIL -  ''
row silent.example.test         SERVFAIL -  ''
row other.test                  NOERROR  -  ''
row target.other.test           NOERROR  -  'CAA 0 issue "other-ca.example.org"'
row hop1.other.test             NOERROR  -  'CAA 0 issue "other-ca.example.org" | CNAME hop2.other.test.'
row deny.test                   NOERROR  ad 'CAA 0 issue ";"'
row example.com                 REFUSED  -  ''   # outside the lab: refused, never looked up
row insecure.example.test       NOERROR  -  'CAA 0 issue "ca.example.net"'   # DS-less child of a signed zone
row broken.insecure.example.test SERVFAIL -  ''   # below the Insecure cut, delegated to the SERVFAIL server
row indeterminate.test          SERVFAIL -  ''   # outside every trust anchor, SERVFAIL server
row bogus.test                  SERVFAIL -  ''
row expired.test                SERVFAIL -  ''
row nosig.test                  SERVFAIL -  ''

# ede NAME CODE: SERVFAIL for CAA NAME carries RFC 8914 code CODE (the DNSSEC failure's kind).
# A bogus answer still in unbound's cache (val-bogus-ttl: 1 s) says only "6 (DNSSEC Bogus)",
# without a reason: ask once more when the cache has let it go.
ede() {
    rows=$((rows + 1))
    local out
    out=$(kdig @"$IP" -p 5353 +dnssec +time=5 +retry=0 CAA "$1" 2>&1)
    if grep -qx ';; EDE: 6 (DNSSEC Bogus)' <<< "$out"; then
        sleep 1.2
        out=$(kdig @"$IP" -p 5353 +dnssec +time=5 +retry=0 CAA "$1" 2>&1)
    fi
    if grep -q "^;; EDE: $2 " <<< "$out"; then
        printf 'ok    %-30s EDE %s\n' "$1" "$2"
    else
        printf 'FAIL  %-30s want EDE %s, got: %s\n' "$1" "$2" "$(grep '^;; EDE' <<< "$out" || echo none)"
        fails=$((fails + 1))
    fi
}
ede bogus.test 6      # CAA edited after signing
ede expired.test 7    # signatures expired in 2020
ede nosig.test 10     # CAA RRSIG removed

# ds NAME BITMAP: DS NAME is NODATA with AD, proven by an NSEC at NAME whose bitmap is BITMAP
# (NS without DS = an Insecure delegation; no NS = not a zone cut at all).
ds() {
    rows=$((rows + 1))
    local out st flags nsec
    out=$(kdig @"$IP" -p 5353 +dnssec +time=5 +retry=0 DS "$1" 2>&1)
    st=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<< "$out" | head -1)
    flags=$(sed -n 's/^;; Flags: \([a-z ]*\);.*/\1/p' <<< "$out" | head -1)
    nsec=$(awk -v n="$1." '$1 == n && $4 == "NSEC" { $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' <<< "$out")
    if [ "$st" = NOERROR ] && [[ " $flags " = *" ad "* ]] && [ "$nsec" = "$2" ]; then
        printf 'ok    DS %-27s NODATA ad, NSEC %s\n' "$1" "$nsec"
    else
        printf 'FAIL  DS %-27s got %s [%s] NSEC "%s"; want NOERROR ad NSEC "%s"\n' "$1" "$st" "$flags" "$nsec" "$2"
        fails=$((fails + 1))
    fi
}
ds insecure.example.test 'NS RRSIG NSEC'   # the proof of Insecure the lookup-failure carve-out needs
ds www.example.test      'A RRSIG NSEC'    # authenticated, but no delegation: proves nothing

# many.test: over UDP only TC=1 and an empty answer; over TCP all 1001 records.
rows=$((rows + 1))
udp=$(kdig @"$IP" -p 5353 +bufsize=1232 +ignore +time=5 +retry=0 CAA many.test 2>&1)
tcp=$(kdig @"$IP" -p 5353 +tcp +time=5 +retry=0 CAA many.test 2>&1)
n_udp=$(grep -cE '^many\.test\.\s.*\sCAA\s' <<< "$udp")
n_tcp=$(grep -cE '^many\.test\.\s.*\sCAA\s' <<< "$tcp")
n_ours=$(grep -cE '\sCAA\s+0 issue "ca\.example\.net"' <<< "$tcp")
n_other=$(grep -cE '\sCAA\s+0 issue "ca([1-9][0-9]{0,2}|1000)\.example\.org"' <<< "$tcp")
if grep -q '^;; Flags: qr tc' <<< "$udp" && [ "$n_udp" = 0 ] && [ "$n_tcp" = 1001 ] \
   && [ "$n_ours" = 1 ] && [ "$n_other" = 1000 ]; then
    printf 'ok    %-30s UDP TC=1 with 0 records; TCP %s records (%s of ours, %s others), %s\n' \
        many.test "$n_tcp" "$n_ours" "$n_other" "$(grep -o 'Received [0-9]* B' <<< "$tcp")"
else
    printf 'FAIL  many.test: udp %s records (tc?), tcp %s records, ours %s, others %s\n' "$n_udp" "$n_tcp" "$n_ours" "$n_other"
    fails=$((fails + 1))
fi

echo "$((rows - fails))/$rows rows as expected"
[ $fails = 0 ]
