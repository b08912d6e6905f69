#!/usr/bin/python3
"""Writes the fuzzers' seed inputs: real requests of every check type and
method, agent replies, resolver answers (wire format, built with dnspython),
CAA RDATA and DCV observations, redirect chains and acme-tls/1 certificates
(made with the openssl command), plus malformed variants of each.

usage: tests/fuzz/seeds.py OUTDIR   (one sub-directory per target; the
shipped corpus under tests/fuzz/corpus/ is this, minimised with -merge=1)"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

OUT = sys.argv[1]
HASH = "a" * 43
HEX = "7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069"
ACCOUNT = "https://ca.example.net/acme/acct/1234"


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def js(o):
    return json.dumps(o, separators=(",", ":"))


# ---- client requests (fuzz_wire) and agent requests (fuzz_agent_msg) ----------------------
DCV = {
    "acme-http-01": ("dcv.example.test", {"token": "tok-EN_1", "key_authorization": "tok-EN_1.thumb",
                                          "http_headers": {"User-Agent": "mpic", "X-Test": "1"}}),
    "acme-dns-01": ("dcv.example.test", {"key_authorization_hash": HASH}),
    "acme-tls-alpn-01": ("alpn.example.test", {"key_authorization_hash": HEX}),
    "website-change": ("dcv.example.test", {"http_token_path": "/token.txt", "challenge_value": "chal-123",
                                            "url_scheme": "https", "match_regex": "^chal-[0-9]+$",
                                            "require_exact_case": False, "http_headers": {"Accept": "*/*"}}),
    "dns-change": ("dcv.example.test", {"challenge_value": "chal-123", "dns_record_type": "TXT",
                                        "dns_name_prefix": "_pki", "require_exact_match": True,
                                        "require_exact_case": True}),
    "contact-email-txt": ("dcv.example.test", {"challenge_value": "admin@example.test"}),
    "contact-phone-txt": ("dcv.example.test", {"challenge_value": "+1-555-0100"}),
    "contact-email-caa": ("dcv.example.test", {"challenge_value": "admin@example.test"}),
    "contact-phone-caa": ("dcv.example.test", {"challenge_value": "+1-555-0100"}),
    "ip-address": ("dcv.example.test", {"challenge_value": "203.0.113.5", "dns_record_type": "A"}),
    "reverse-address-lookup": ("2001:db8::78", {"challenge_value": "dcv.example.test"}),
    "dns-persistent": ("*.dcv.example.test", {"issuer_domain_names": ["ca.example.net", "CA2.example"],
                                              "expected_account_uri": ACCOUNT}),
    "dns-account-01": ("dcv.example.test", {"key_authorization_hash": HASH, "account_uri": ACCOUNT}),
}
ORCH = [None, {"perspective_count": 3}, {"perspective_count": 6, "quorum_count": 4, "max_attempts": 3},
        {"perspective_count": 2, "quorum_count": 2, "max_attempts": 0},
        {"perspective_count": 4, "cohort_for_single_attempt": 2}, {"quorum_count": 1}, {"perspective_count": 7},
        {"perspective_count": "3"}, {"max_attempts": -1}, {"cohort_for_single_attempt": 0}, []]


def client_requests():
    out = {}
    caa = [{"domain_or_ip_target": "example.test"},
           {"check_type": "caa", "domain_or_ip_target": "www.sub.example.test", "trace_identifier": "t-1",
            "caa_check_parameters": {"certificate_type": "tls-server", "caa_domains": ["ca.example.net"]}},
           {"check_type": "caa", "domain_or_ip_target": "*.example.test",
            "caa_check_parameters": {"certificate_type": "s-mime", "caa_domains": ["CA.Example", "ca2.example"],
                                     "account_uri": ACCOUNT, "validation_method": "acme-dns-01",
                                     "allow_lookup_failure": True}},
           {"check_type": "caa", "domain_or_ip_target": "203.0.113.5", "caa_check_parameters": {"caa_domains": []}},
           {"check_type": "caa", "domain_or_ip_target": "xn--bcher-kva.example", "caa_check_parameters": None},
           {"check_type": "caa", "domain_or_ip_target": "2001:db8::1", "trace_identifier": None}]
    for i, r in enumerate(caa):
        out[f"caa-{i}"] = r
    for m, (target, params) in DCV.items():
        out[f"dcv-{m}"] = {"check_type": "dcv", "domain_or_ip_target": target,
                           "dcv_check_parameters": dict(validation_method=m, **params)}
    for i, o in enumerate(ORCH):
        r = dict(out["caa-1"])
        r["orchestration_parameters"] = o
        out[f"orch-{i}"] = r
    return out


def malformed_requests():
    out = [b"", b"{}", b"[]", b"null", b'{"check_type":"CAA","domain_or_ip_target":"example.test"}',
           b'{"check_type":"caa","domain_or_ip_target":"example.test","check_type":"dcv"}',
           b'{"check_type":"dcv","domain_or_ip_target":"example.test"}',
           b'{"check_type":"dcv","domain_or_ip_target":"example.test","dcv_check_parameters":{"validation_method":"acme-dns-02"}}',
           b'{"check_type":"dcv","domain_or_ip_target":"example.test","dcv_check_parameters":{"validation_method":"website-change","http_token_path":"../x","challenge_value":"","match_regex":"(a+)+$("}}',
           b'{"check_type":"dcv","domain_or_ip_target":"*.example.test","dcv_check_parameters":{"validation_method":"acme-http-01","token":"a/b","key_authorization":1,"http_headers":{"Bad Name":"x","Y":"\\u0001"}}}',
           b'{"check_type":"dcv","domain_or_ip_target":"203.0.113.5","dcv_check_parameters":{"validation_method":"dns-change","challenge_value":"x","dns_record_type":"MX","dns_name_prefix":"a..b"}}',
           b'{"check_type":"dcv","domain_or_ip_target":"example.test","dcv_check_parameters":{"validation_method":"dns-persistent","issuer_domain_names":[],"expected_account_uri":null}}',
           b'{"domain_or_ip_target":"a.' + b"b" * 64 + b'.test"}',
           b'{"domain_or_ip_target":"example.test.","trace_identifier":"' + b"x" * 513 + b'"}',
           b'{"domain_or_ip_target":"exa mple.onion","orchestration_parameters":{"perspective_count":1e3}}',
           b'{"domain_or_ip_target":"5.113.0.203.in-addr.arpa","caa_check_parameters":{"caa_domains":"ca","certificate_type":"code"}}',
           b'{"domain_or_ip_target":"::ffff:10.0.0.1","orchestration_parameters":{"perspective_count":99999999999999999999}}',
           b'{"domain_or_ip_target":"\\u00e9xample.test","caa_check_parameters":{"account_uri":"","validation_method":"http-01","allow_lookup_failure":"yes"}}',
           b'{"domain_or_ip_target":"example.test",' + b'"x":[' * 40 + b']' * 40 + b'}']
    return out


def agent_request(r):
    """What the orchestrator sends for client request r (mpic_agent_request_json)."""
    j = {"protocol": 1, "check_type": r.get("check_type", "caa"), "domain_or_ip_target": r["domain_or_ip_target"],
         "trace_identifier": r.get("trace_identifier")}
    if j["check_type"] == "dcv":
        j["dcv_check_parameters"] = r["dcv_check_parameters"]
    else:
        p = r.get("caa_check_parameters") or {}
        j["caa_check_parameters"] = {"certificate_type": p.get("certificate_type", "tls-server"),
                                     "caa_domains": p.get("caa_domains") or ["ca.example.net"],
                                     "account_uri": p.get("account_uri"),
                                     "validation_method": "dns-01" if p.get("validation_method") else None,
                                     "allow_lookup_failure": p.get("allow_lookup_failure", False)}
    return j


def details(m):
    if m is None:
        return {"caa_record_present": True, "found_at": "example.test",
                "records_seen": ['0 issue "ca.example.net"', '128 iodef "mailto:x@example.test"']}
    if m in ("acme-http-01", "website-change"):
        return {"validation_method": m, "response_history": [{"status_code": 301, "url": "http://dcv.example.test/a"}],
                "response_url": "https://dcv.example.test/.well-known/x", "response_status_code": 200,
                "response_page": "chal-123\n"}
    if m == "acme-tls-alpn-01":
        return {"validation_method": m, "common_name": "alpn.example.test"}
    return {"validation_method": m, "records_seen": ["chal-123"], "response_code": 0, "ad_flag": True,
            "found_at": "_pki.dcv.example.test", "cname_chain": ["a.example.test."]}


def agent_reply(check_type, m, passed=True, errors=None):
    return {"protocol": 1, "perspective_code": "us-east-1",
            "check_response": {"check_completed": True, "check_passed": passed, "errors": errors,
                               "timestamp_ns": 1700000000123456789, "check_type": check_type,
                               "details": details(m)}}


def main():
    redirect_seeds()
    alpn_seeds()
    reqs = client_requests()
    for name, r in reqs.items():
        put("fuzz_wire", name, js(r))
    for i, b in enumerate(malformed_requests()):
        put("fuzz_wire", f"bad-{i}", b)

    # fuzz_agent_msg: agent request, NUL, agent reply.
    for name, r in reqs.items():
        if name.startswith("orch-"):
            continue
        ar = agent_request(r)
        m = r.get("dcv_check_parameters", {}).get("validation_method")
        put("fuzz_agent_msg", name, js(ar).encode() + b"\0" + js(agent_reply(ar["check_type"], m)).encode())
    caa = agent_request(reqs["caa-1"])
    variants = {
        "fail-errors": agent_reply("caa", None, False,
                                   [{"error_type": "mpic_error:caa_checker:lookup", "error_message": "SERVFAIL"}]),
        "null-details": {"protocol": 1, "perspective_code": "us-east-1",
                         "check_response": {"check_completed": False, "check_passed": False, "errors": None,
                                            "timestamp_ns": 0, "check_type": "caa",
                                            "details": {"caa_record_present": None, "found_at": None,
                                                        "records_seen": None}}},
        "other-code": dict(agent_reply("caa", None), perspective_code="eu-west-1"),
        "protocol-2": dict(agent_reply("caa", None), protocol=2),
        "pass-incomplete": {**agent_reply("caa", None), "check_response": {
            **agent_reply("caa", None)["check_response"], "check_completed": False}},
        "wrong-type": agent_reply("dcv", "acme-dns-01"),
        "extra-key": {**agent_reply("caa", None), "x": 1},
    }
    for name, rep in variants.items():
        put("fuzz_agent_msg", "reply-" + name, js(caa).encode() + b"\0" + js(rep).encode())
    http = agent_request(reqs["dcv-acme-http-01"])
    put("fuzz_agent_msg", "reply-http-null", js(http).encode() + b"\0" + js({**agent_reply("dcv", "acme-http-01"),
        "check_response": {**agent_reply("dcv", "acme-http-01")["check_response"], "check_completed": False,
                           "check_passed": False, "details": {"validation_method": "acme-http-01",
                           "response_history": None, "response_url": None, "response_status_code": None,
                           "response_page": None}}}).encode())
    put("fuzz_agent_msg", "bad-protocol", b'{"protocol":"1","check_type":"caa"}')
    put("fuzz_agent_msg", "bad-dcv", b'{"protocol":1,"check_type":"dcv","domain_or_ip_target":"x.test",'
        b'"trace_identifier":null,"dcv_check_parameters":{"validation_method":"ip-address","challenge_value":"1.2.3.4",'
        b'"dns_record_type":"TXT"}}')

    dns_seeds()
    caa_seeds()
    dcv_seeds()


# ---- resolver answers (fuzz_dns) ---------------------------------------------------------
def rr(name, rtype, *texts, ttl=300):
    return dns.rrset.from_text(name, ttl, "IN", rtype, *texts)


def answer(qname, qtype, ans=(), auth=(), rcode=0, ad=True, ede=None):
    q = dns.message.make_query(qname, qtype, use_edns=0, want_dnssec=True)
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    if ad:
        r.flags |= dns.flags.AD
    r.answer.extend(ans)
    r.authority.extend(auth)
    if ede is not None:
        r.use_edns(0, dns.flags.DO, 1232, options=[dns.edns.EDEOption(ede, "lab")])
    return r.to_wire()


def dns_seeds():
    sig = "DS 13 3 300 20300101000000 20200101000000 12345 example.test. " + "A" * 88
    seeds = {
        "caa-issue": answer("example.test", "CAA", [rr("example.test.", "CAA", '0 issue "ca.example.net; accounturi=' +
                                                      ACCOUNT + '; validationmethods=dns-01"',
                                                      '0 issuewild ";"', '128 tbs "unknown"',
                                                      '0 iodef "mailto:sec@example.test"',
                                                      '0 issuemail "ca.example.net"')]),
        "caa-cname": answer("a.b.example.test", "CAA", [rr("a.b.example.test.", "CNAME", "c.example.test."),
                                                        rr("c.example.test.", "CNAME", "example.test."),
                                                        rr("example.test.", "CAA", '0 issue "ca.example.net"')]),
        "txt-multi": answer("_acme-challenge.example.test", "TXT",
                            [rr("_acme-challenge.example.test.", "TXT", '"' + HASH + '"', '"part1" "part2"')]),
        "ds-signed": answer("example.test", "DS", [rr("example.test.", "DS", "12345 13 2 " + HEX),
                                                   rr("example.test.", "RRSIG", sig)]),
        "ds-nsec-cut": answer("a.b.example.test", "DS", auth=[rr("a.b.example.test.", "NSEC",
                                                                "z.example.test. NS RRSIG NSEC")]),
        "ds-nsec-apex": answer("example.test", "DS", auth=[rr("example.test.", "NSEC",
                                                             "a.example.test. A NS SOA RRSIG NSEC DNSKEY")]),
        "ds-nsec3": answer("a.b.example.test", "DS", auth=[rr(
            "2vptu5timamqttgl4luu9kg21e0aor3s.example.test.", "NSEC3",
            "1 1 10 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3t NS RRSIG")]),
        "nxdomain": answer("a.b.example.test", "DS", rcode=dns.rcode.NXDOMAIN,
                           auth=[rr("example.test.", "SOA", "ns.example.test. h.example.test. 1 2 3 4 5")]),
        "servfail-ede-dnssec": answer("example.test", "CAA", rcode=dns.rcode.SERVFAIL, ad=False, ede=6),
        "servfail-ede-other": answer("example.test", "CAA", rcode=dns.rcode.SERVFAIL, ad=False, ede=22),
        "a-aaaa": answer("example.test", "A", [rr("example.test.", "A", "203.0.113.5"),
                                               rr("example.test.", "AAAA", "2001:db8::1")]),
    }
    for name, wire in seeds.items():
        put("fuzz_dns", name, wire)


# ---- CAA records (fuzz_caa): option byte, then flags, tag length, 2-octet value length, tag, value ----
def caa_input(opts, records):
    b = bytes([opts])
    for flags, tag, value in records:
        b += bytes([flags, len(tag)]) + struct.pack(">H", len(value)) + tag + value
    return b


def caa_seeds():
    seeds = {
        "issue": (0, [(0, b"issue", b"ca.example")]),
        "issue-params": (8 | 16, [(0, b"issue", b"ca.example; accounturi=acct:1; validationmethods=dns-01,http-01")]),
        "issuewild-deny": (1, [(0, b"issue", b"ca.example"), (0, b"issuewild", b";")]),
        "critical-unknown": (4, [(128, b"tbs", b"x"), (0, b"issue", b"ca.example.net")]),
        "flag1": (4, [(1, b"issue", b"other.example")]),
        "iodef-only": (0, [(0, b"iodef", b"mailto:sec@example.test")]),
        "smime": (2, [(0, b"issuemail", b"ca.example"), (0, b"issue", b";")]),
        "malformed": (0, [(0, b"Issue", b" ca.example ;; =x"), (0, b"issue", b"ca..example"),
                          (0, b"issue", b"\xff\x00a")]),
        "bare-name": (0, [(0, b"issue", b"CA.Example.NET")]),
    }
    for name, (opts, recs) in seeds.items():
        put("fuzz_caa", name, caa_input(opts, recs))
    put("fuzz_caa", "climb", b"a.b.c.example.test")


# ---- DCV observations (fuzz_dcv): option byte, observed, NUL, expected ------------------------
def dcv_seeds():
    seeds = {
        "http01": (0, "tok.thumb\r\n", "tok.thumb"),
        "txt-case": (0, "Chal-123", "chal-123"),
        "ip4": (0, "203.0.113.5", "203.0.113.5"),
        "ip6-mapped": (0, "::ffff:203.0.113.5", "2001:db8::78"),
        "ip-reserved": (0, "10.0.0.1", "fe80::1%eth0"),
        "email": (0, "admin@example.test", "\"a b\"@xn--bcher-kva.example"),
        "phone": (0, "+1-555-0100", "+1 (555) 0199 "),
        "persist": (0, "ca.example; accounturi=https://ca.example/acct/1; policy=wildcard; persistUntil=1800000100",
                    ""),
        "persist-past": (1 | 0x30, "CA.example;accounturi=acct:9;persistuntil=1799999999", "acct:9"),
        "persist-bad": (0, "ca.example; accounturi=https://ca.example/acct/1; persistUntil=99999999999999999999", ""),
        "regex": (2, "chal-123 in a page", "^chal-[0-9]+"),
        "regex-bomb": (2, "a" * 40 + "!", "(a+)+$"),
        "regex-bad": (2, "x", "(?<n>a"),
        "account-label": (0, ACCOUNT, ""),
    }
    for name, (opts, a, b) in seeds.items():
        put("fuzz_dcv", name, bytes([opts]) + a.encode() + b"\0" + b.encode())


# ---- redirect chains (fuzz_redirect): the challenge URL, then one line per response: ----------
# an octet choosing the status (0-3: 301 302 307 308, 4: 303, 5: 300, 6: 200, 7: 399; +8: no
# Location), then the Location.
def redirect_seeds():
    base = "http://http.dcv.example.test/.well-known/acme-challenge/tok"
    chains = {
        "absolute": [base, "\x00http://other.example.test/x"],
        "relative": [base, "\x01../up?q=1", "\x02/top", "\x03same#frag"],
        "scheme-relative": [base, "\x00//other.example.test:443/p"],
        "https": [base, "\x00https://http.dcv.example.test/b", "\x01http://http.dcv.example.test:443/c"],
        "port-8080": [base, "\x01http://http.dcv.example.test:8080/x"],
        "ftp": [base, "\x01ftp://http.dcv.example.test/x"],
        "loop": [base, "\x01/a", "\x01/b", "\x01/a"],
        "303": [base, "\x04/see-other"],
        "no-location": [base, "\x08"],
        "empty-location": [base, "\x00"],
        "ipv6": ["http://[2001:db8::1]/.well-known/acme-challenge/t", "\x00http://[fe80::1%25eth0]/x",
                 "\x00http://[::ffff:127.0.0.1]/"],
        "ipv4": ["http://203.0.113.5/.well-known/pki-validation/f.txt", "\x00http://0x7f.1/", "\x00http://2130706433/"],
        "userinfo": [base, "\x00http://user:pw@other.example.test/x"],
        "idn": [base, "\x00http://b\u00fccher.example/x", "\x00http://xn--bcher-kva.example/y"],
        "bad-host": [base, "\x00http://-bad.example.test/", "\x00http://exa_mple.test/"],
        "long": [base, "\x00/" + "a" * 2100],
        "max": [base] + [f"\x00/r{k}" for k in range(21)],
        "encoded": [base, "\x00/a b/%zz/%00/\u00e9"],
    }
    for name, lines in chains.items():
        put("fuzz_redirect", name, "\n".join(lines).encode("utf-8"))


# ---- acme-tls/1 certificates (fuzz_alpn): identifier octet (0 name, 1 IPv4, 2 IPv6), ALPN
# length and protocol, DER certificate. The hash is the one fuzz_alpn.c expects.
def alpn_seeds():
    ident = {"name": (0, "DNS:alpn.example.test"), "ip4": (1, "IP:203.0.113.7"), "ip6": (2, "IP:2001:db8::7")}
    variants = {
        "ok": ("critical,DER:0420" + HEX, None),
        "not-critical": ("DER:0420" + HEX, None),
        "wrong-hash": ("critical,DER:0420" + "00" * 32, None),
        "no-ext": (None, None),
        "two-sans": ("critical,DER:0420" + HEX, "DNS:other.example.test"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "k.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
                       check=True, capture_output=True)
        for iname, (octet, san) in ident.items():
            for vname, (ext, extra) in variants.items():
                cmd = ["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=acme", "-days", "7",
                       "-outform", "DER", "-out", os.path.join(tmp, "c.der"),
                       "-addext", "subjectAltName=" + san + ("," + extra if extra else "")]
                if ext:
                    cmd += ["-addext", "1.3.6.1.5.5.7.1.31=" + ext]
                subprocess.run(cmd, check=True, capture_output=True)
                with open(os.path.join(tmp, "c.der"), "rb") as f:
                    der = f.read()
                put("fuzz_alpn", f"{iname}-{vname}", bytes([octet, 10]) + b"acme-tls/1" + der)
                if vname == "ok":
                    put("fuzz_alpn", f"{iname}-h2", bytes([octet, 2]) + b"h2" + der)
                    put("fuzz_alpn", f"{iname}-truncated", bytes([octet, 10]) + b"acme-tls/1" + der[:len(der) // 2])


main()
