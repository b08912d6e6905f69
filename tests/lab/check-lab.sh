#!/usr/bin/env bash
# Asks a running DNS lab (dns-lab.sh) every question the CAA and DCV tests rely on and
# compares the answers with what the zones promise; with --web also the web lab (web-lab.sh)
# whose addresses the zones name.
#   usage: check-lab.sh IP [--web]   (exit 0 = all match)
set -uo pipefail
IP=${1:?usage: check-lab.sh IP [--web]}
WEB=0
[ "${2:-}" = --web ] && WEB=1
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

# rr TYPE NAME STATUS AD EXPECTED: like row, for any type; EXPECTED lists the answer's records of
# TYPE (and CNAMEs) as "TYPE RDATA", sorted, joined by " | ".
rr() {
    local type=$1 name=$2 status=$3 ad=$4 want=$5
    local out got st flags ok=1
    rows=$((rows + 1))
    out=$(kdig @"$IP" -p 5353 +dnssec +time=5 +retry=0 "$type" "$name" 2>&1)
    st=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<< "$out" | head -1)
    flags=$(sed -n 's/^;; Flags: \([a-z ]*\);.*/\1/p' <<< "$out" | head -1)
    got=$(awk -v t="$type" '/^;; ANSWER SECTION/ {a = 1; next} /^;; / {a = 0} a && ($4 == t || $4 == "CNAME") {
                   $1 = $2 = $3 = ""; sub(/^ +/, ""); sub(/ +$/, ""); print }' <<< "$out" | sort | paste -sd'|' | sed 's/|/ | /g')
    [ "$st" = "$status" ] || ok=0
    [ "$got" = "$want" ] || ok=0
    case " $flags " in *" ad "*) [ "$ad" = ad ] || ok=0 ;; *) [ "$ad" = - ] || ok=0 ;; esac
    if [ $ok = 1 ]; then
        printf 'ok    %-5s %-40s %-8s %-3s %s\n' "$type" "$name" "$st" "$ad" "$got"
    else
        printf 'FAIL  %-5s %-40s got %s [%s] %s; want %s %s %s\n' "$type" "$name" "$st" "$flags" "$got" "$status" "$ad" "$want"
        fails=$((fails + 1))
    fi
}

# DCV (H = the base64url SHA-256 the DCV tests use).
H=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab-addrs.sh
. "$HERE"/lab-addrs.sh
lab_addrs "$IP" || exit 2
rr TXT _acme-challenge.dcv.example.test       NOERROR ad "TXT \"$H\" | TXT \"an-unrelated-token\""
rr TXT _acme-challenge.dcvsplit.example.test  NOERROR ad "TXT \"${H:0:16}\" \"${H:16}\""
rr TXT _acme-challenge.dcvcname.example.test  NOERROR -  "CNAME dcv-hop1.other.test. | CNAME dcv-hop2.other.test. | TXT \"$H\""
rr TXT _acme-challenge.dcvmissing.example.test NXDOMAIN ad ''
rr TXT _ujmmovf2vn55tgye._acme-challenge.dcv.example.test NOERROR ad "TXT \"$H\""
rr TXT dcv.example.test                       NOERROR ad 'TXT "prefix-ChallengeValue-123-suffix"'
rr TXT _dnschange.dcv.example.test            NOERROR ad 'TXT "ChallengeValue-123"'
# knot serves domain names inside RDATA (CNAME, PTR) in lower case whatever the zone file says.
rr CNAME _cnamechange.dcv.example.test        NOERROR ad 'CNAME challengevalue-123.validation.other.test.'
rr CAA _caachange.dcv.example.test            NOERROR ad 'CAA 0 tbs "ChallengeValue-123"'
rr TXT _validation-contactemail.dcv.example.test NOERROR ad 'TXT "dcv-admin@example.test"'
rr TXT _validation-contactphone.dcv.example.test NOERROR ad 'TXT "+1-555-0100"'
rr TXT _validation-contactemail.dcvbad.example.test NOERROR ad 'TXT "email: dcv-admin@example.test"'
rr CAA contactdcv.example.test                NOERROR ad 'CAA 0 ContactEmail "dcv-admin@example.test" | CAA 0 contactphone "+1-555-0100" | CAA 0 issue "ca.example.net"'
rr A dcvip.example.test                       NOERROR ad 'A 127.0.0.2'
rr AAAA dcvip.example.test                    NOERROR ad 'AAAA 2001:db8::78'
rr TXT _validation-persist.dcv.example.test   NOERROR ad 'TXT "ca.example.net; accounturi=https://ca.example.net/acct/123" | TXT "other-ca.example.org; accounturi=https://other-ca.example.org/acct/9"'
rr TXT _validation-persist.dcvwild.example.test NOERROR ad 'TXT "ca.example.net; accounturi=https://ca.example.net/acct/123; policy=wildcard"'
rr TXT _validation-persist.dcvold.example.test NOERROR ad 'TXT "ca.example.net; accounturi=https://ca.example.net/acct/123; persistUntil=1000000000"'
rr PTR 5.113.0.203.in-addr.arpa               NOERROR -  'PTR dcv.example.test.'
rr PTR 6.113.0.203.in-addr.arpa               NOERROR -  'PTR other-host.example.test.'
rr TXT _ip-validation-persist.5.113.0.203.in-addr.arpa NOERROR - 'TXT "ca.example.net; accounturi=https://ca.example.net/acct/123"'
rr PTR 8.7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa NOERROR - 'PTR dcvip.example.test.'
rr A http.dcv.example.test                    NOERROR ad "A $WEB_IP"
rr A alpn-ok.dcv.example.test                 NOERROR ad "A $ALPN_OK_IP"
rr A alpn-no-ext.dcv.example.test             NOERROR ad "A $ALPN_NO_EXT_IP"
rr A alpn-closed.dcv.example.test             NOERROR ad "A $CLOSED_IP"
# The value is H, or another one in a lab started with --alt.
q=$(kdig @"$IP" -p 5353 +short TXT _acme-challenge.dcvquorum.example.test 2>&1)
if [ "$q" = "\"$H\"" ]; then
    rr TXT _acme-challenge.dcvquorum.example.test NOERROR ad "TXT \"$H\""
else
    rr TXT _acme-challenge.dcvquorum.example.test NOERROR ad 'TXT "a-value-only-the-alt-lab-serves"'
fi

# web: the web lab's servers, reached the way the zones say.
web() {   # web WHAT EXPECTED COMMAND...: the command's output must be EXPECTED
    local what=$1 want=$2 got; shift 2
    rows=$((rows + 1))
    got=$("$@" 2>/dev/null)
    if [ "$got" = "$want" ]; then printf 'ok    web %-36s %s\n' "$what" "$got"
    else printf 'FAIL  web %-36s got "%s"; want "%s"\n' "$what" "$got" "$want"; fails=$((fails + 1)); fi
}
if [ $WEB = 1 ]; then
    C=(curl -s --max-time 5 --resolve "http.dcv.example.test:80:$WEB_IP" --resolve "http.dcv.example.test:443:$WEB_IP")
    U=http://http.dcv.example.test/.well-known
    web 'http-01 lab-token-ok' 'lab-token-ok.LabThumbprint0123456789' "${C[@]}" "$U/acme-challenge/lab-token-ok"
    web 'http-01 missing' 404 "${C[@]}" -o /dev/null -w '%{http_code}' "$U/acme-challenge/lab-token-missing"
    web 'redir-chain' '301 302 307 308 200' bash -c "for u in $U/acme-challenge/redir-chain; do
        while [ -n \"\$u\" ]; do r=\$(\"\$@\" -o /dev/null -w '%{http_code} %{redirect_url}' \"\$u\"); printf '%s ' \"\${r%% *}\"; u=\${r#* }; done; done | sed 's/ \$//'" _ "${C[@]}"
    web 'redir-10 / redir-11' '10 11' bash -c "a=\$(\"\$@\" -L --max-redirs 20 -o /dev/null -w '%{num_redirects}' $U/acme-challenge/redir-10)
        b=\$(\"\$@\" -L --max-redirs 20 -o /dev/null -w '%{num_redirects}' $U/acme-challenge/redir-11); echo \"\$a \$b\"" _ "${C[@]}"
    web 'https website-change page' 'https page: ChallengeValue-456' "${C[@]}" -k "https://http.dcv.example.test/.well-known/pki-validation/https-only.txt"
    for v in $LAB_ALPN_VARIANTS; do
        want='acme-tls/1'; [ "$v" = no-alpn ] && want=none
        web "alpn-$v ALPN" "$want" bash -c "echo | timeout 5 openssl s_client -connect $(alpn_ip "$v"):443 \
            -servername alpn-$v.dcv.example.test -alpn acme-tls/1 2>/dev/null \
            | sed -n 's/^ALPN protocol: //p; s/^No ALPN negotiated/none/p'"
    done
fi

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
