"""Hostile and malformed requests, one table: each row is sent on its own connection to the session
cluster and must get the status docs/reliability.md lists for its kind — never a 500, never a hang
(every exchange has a socket deadline), never a crash (the cluster fixture fails the run on a
sanitizer report, and the last row checks the orchestrator still answers).

A row is (id, what, expected status). `what` is a dict (sent as JSON), bytes (sent as the body of
an otherwise correct POST), or a Raw(...) request whose bytes are sent as they are, `{key}` standing
for the API key."""
import json
import socket
import time

import pytest

import schema
from conftest import parse_http_answer, read_until_close

H = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
HEADER_DEADLINE_S = 10          # issue 12: headers complete within 10 s by default


class Raw:
    """Request bytes sent as they are; `slow` sends them one byte every slow seconds after the first
    len(bytes) - trickle bytes, for at most `for_s` seconds."""

    def __init__(self, data, trickle=0, slow=0.0, for_s=0.0):
        self.data, self.trickle, self.slow, self.for_s = data, trickle, slow, for_s


def caa(target, **more):
    return dict({"check_type": "caa", "domain_or_ip_target": target}, **more)


def dcv(target, **params):
    return {"check_type": "dcv", "domain_or_ip_target": target, "dcv_check_parameters": params}


def website(regex):
    return dcv("http.dcv.example.test", validation_method="website-change", http_token_path="lab-change.txt",
               challenge_value="ChallengeValue-123", match_regex=regex)


def head(lines, body=b""):
    return ("\r\n".join(["POST /v1/mpic HTTP/1.1", "Host: 127.0.0.1", *lines, "Connection: close"])
            + "\r\n\r\n").encode() + body


OK_BODY = json.dumps(caa("example.test")).encode()


def with_len(lines, body=OK_BODY):
    return head(["x-api-key: {key}", "Content-Type: application/json", *lines], body)


def nested(depth, open_="[", close="]"):
    return (open_ * depth + close * depth)


def op(**params):
    return caa("example.test", orchestration_parameters=params)


LABEL63 = "a" * 63
NAME253 = ".".join([LABEL63, LABEL63, LABEL63, "a" * 48]) + ".example.test"    # 253 characters
assert len(NAME253) == 253

ROWS = [
    # ---- HTTP framing and headers ----------------------------------------------------------
    pytest.param("repeated-api-key-right-then-wrong", Raw(with_len(["x-api-key: wrong-" + "w" * 40,
                                                                    f"Content-Length: {len(OK_BODY)}"])), 400),
    pytest.param("repeated-api-key-wrong-then-right", Raw(head(["x-api-key: wrong-" + "w" * 40, "x-api-key: {key}",
                                                                f"Content-Length: {len(OK_BODY)}"], OK_BODY)), 400),
    pytest.param("repeated-api-key-same-twice", Raw(with_len(["x-api-key: {key}", f"Content-Length: {len(OK_BODY)}"])),
                 400),
    pytest.param("conflicting-content-length", Raw(with_len([f"Content-Length: {len(OK_BODY)}",
                                                             f"Content-Length: {len(OK_BODY) - 5}"])), 400),
    pytest.param("repeated-equal-content-length", Raw(with_len([f"Content-Length: {len(OK_BODY)}"] * 2)), 400),
    pytest.param("content-length-and-chunked", Raw(with_len([f"Content-Length: {len(OK_BODY)}",
                                                             "Transfer-Encoding: chunked"])), 400),
    pytest.param("negative-content-length", Raw(with_len(["Content-Length: -1"])), 400),
    pytest.param("non-numeric-content-length", Raw(with_len(["Content-Length: 12abc"])), 400),
    # Past 2^64: not a number the parser can hold, so a malformed request (400), not a size (413).
    pytest.param("huge-content-length", Raw(with_len(["Content-Length: 99999999999999999999"])), 400),
    pytest.param("header-flood-10000-headers", Raw(with_len([f"X-Flood-{i}: {i}" for i in range(10000)]
                                                            + [f"Content-Length: {len(OK_BODY)}"])), 431),
    pytest.param("one-100k-header", Raw(with_len(["X-Big: " + "b" * 100000, f"Content-Length: {len(OK_BODY)}"])),
                 431),
    pytest.param("100k-api-key", Raw(head(["x-api-key: " + "k" * 100000, f"Content-Length: {len(OK_BODY)}"],
                                          OK_BODY)), 431),
    pytest.param("slowloris-headers", Raw(with_len([f"Content-Length: {len(OK_BODY)}"] + [f"X-Slow-{i}: s" for i in range(60)]),
                                          trickle=2000, slow=0.25, for_s=HEADER_DEADLINE_S + 3), 408),
    pytest.param("slow-body", Raw(with_len([f"Content-Length: {len(OK_BODY)}"]), trickle=len(OK_BODY), slow=0.5,
                                  for_s=HEADER_DEADLINE_S + 3), 408),
    pytest.param("no-api-key", Raw(head([f"Content-Length: {len(OK_BODY)}"], OK_BODY)), 403),
    pytest.param("api-key-with-trailing-junk", Raw(head(["x-api-key: {key}x", f"Content-Length: {len(OK_BODY)}"],
                                                        OK_BODY)), 403),
    pytest.param("api-key-prefix-only", Raw(head(["x-api-key: {key16}", f"Content-Length: {len(OK_BODY)}"],
                                                 OK_BODY)), 403),
    pytest.param("nul-in-header-value", Raw(with_len(["X-Nul: a\0b", f"Content-Length: {len(OK_BODY)}"])), 400),
    pytest.param("malformed-request-line", Raw(b"POST /v1/mpic HTTP/1.1 extra\r\nHost: x\r\n\r\n"), 400),
    pytest.param("binary-request-line", Raw(bytes(range(1, 200)) + b"\r\n\r\n"), 400),
    # ---- the body as a whole ---------------------------------------------------------------
    ("empty-body", b"", 400),
    ("whitespace-body", b"  \r\n\t ", 400),
    ("json-null", b"null", 400),
    ("json-array", b"[]", 400),
    ("json-string", b'"example.test"', 400),
    ("json-number", b"6", 400),
    ("truncated-json", OK_BODY[:-3], 400),
    ("trailing-garbage", OK_BODY + b"}", 400),
    ("two-documents", OK_BODY + OK_BODY, 400),
    ("nul-byte-in-raw-body", OK_BODY[:-1] + b"\0}", 400),
    ("nul-byte-inside-string", b'{"check_type":"caa","domain_or_ip_target":"example\0.test"}', 400),
    ("deep-nesting-10000-arrays", nested(10000).encode(), 400),
    ("deep-nesting-10000-in-unknown-key", b'{"domain_or_ip_target":"example.test","x":' + nested(10000).encode()
     + b"}", 400),
    ("deep-nesting-10000-objects", b'{"domain_or_ip_target":"example.test","x":' + b'{"a":' * 10000 + b"1"
     + b"}" * 10001, 400),
    ("nesting-100-in-unknown-key-ignored", b'{"domain_or_ip_target":"example.test","x":' + nested(100).encode()
     + b"}", 200),
    ("duplicate-top-level-key", b'{"domain_or_ip_target":"example.test","domain_or_ip_target":"deny.example.test"}',
     400),
    ("duplicate-nested-key", b'{"domain_or_ip_target":"example.test","orchestration_parameters":'
     b'{"perspective_count":6,"perspective_count":2}}', 400),
    ("duplicate-key-in-unknown-object", b'{"domain_or_ip_target":"example.test","x":{"a":1,"a":2}}', 400),
    ("invalid-utf8-byte", b'{"domain_or_ip_target":"example\xff.test"}', 400),
    ("invalid-utf8-overlong-slash", b'{"domain_or_ip_target":"example\xc0\xaf.test"}', 400),
    ("invalid-utf8-in-unknown-key", b'{"domain_or_ip_target":"example.test","x":"\xed\xa0\x80"}', 400),
    ("lone-surrogate-escape", b'{"domain_or_ip_target":"example\\ud800.test"}', 400),
    ("nul-escape-in-target", b'{"domain_or_ip_target":"example.test\\u0000.evil.test"}', 400),
    ("nul-escape-in-trace-identifier", json.dumps(caa("example.test", trace_identifier="a\0b")).encode(), 400),
    pytest.param("body-over-limit", json.dumps(caa("example.test", pad="p" * 70000)).encode(), 413),
    # ---- numbers ---------------------------------------------------------------------------
    ("count-1e999", b'{"domain_or_ip_target":"example.test","orchestration_parameters":{"perspective_count":1e999}}',
     400),
    ("count-2-pow-64", b'{"domain_or_ip_target":"example.test","orchestration_parameters":'
     b'{"perspective_count":18446744073709551616}}', 400),
    ("count-2-pow-63", b'{"domain_or_ip_target":"example.test","orchestration_parameters":'
     b'{"perspective_count":9223372036854775807}}', 400),
    ("count-minus-0", b'{"domain_or_ip_target":"example.test","orchestration_parameters":{"perspective_count":-0}}',
     400),
    ("count-6.0", op(perspective_count=6.0), 400),
    ("count-6e0", b'{"domain_or_ip_target":"example.test","orchestration_parameters":{"perspective_count":6e0}}',
     400),
    ("quorum-minus-2-pow-63", op(quorum_count=-2 ** 63), 400),
    ("max-attempts-2-pow-64", b'{"domain_or_ip_target":"example.test","orchestration_parameters":'
     b'{"max_attempts":18446744073709551616}}', 400),
    ("max-attempts-1.0", op(max_attempts=1.0), 400),
    ("number-nan-literal", b'{"domain_or_ip_target":"example.test","orchestration_parameters":{"max_attempts":NaN}}',
     400),
    # ---- wrong JSON types, field by field ----------------------------------------------------
    ("check-type-number", {"check_type": 1, "domain_or_ip_target": "example.test"}, 400),
    ("check-type-array", {"check_type": ["caa"], "domain_or_ip_target": "example.test"}, 400),
    ("target-number", {"domain_or_ip_target": 1234}, 400),
    ("target-array", {"domain_or_ip_target": ["example.test"]}, 400),
    ("target-object", {"domain_or_ip_target": {"name": "example.test"}}, 400),
    ("target-null", {"domain_or_ip_target": None}, 400),
    ("target-bool", {"domain_or_ip_target": True}, 400),
    ("trace-identifier-number", caa("example.test", trace_identifier=7), 400),
    ("trace-identifier-object", caa("example.test", trace_identifier={}), 400),
    ("orchestration-parameters-string", caa("example.test", orchestration_parameters="6"), 400),
    ("orchestration-parameters-array", caa("example.test", orchestration_parameters=[6]), 400),
    ("perspective-count-string", op(perspective_count="6"), 400),
    ("perspective-count-bool", op(perspective_count=True), 400),
    ("quorum-count-array", op(quorum_count=[4]), 400),
    ("max-attempts-object", op(max_attempts={}), 400),
    ("cohort-string", op(cohort_for_single_attempt="1"), 400),
    ("caa-parameters-string", caa("example.test", caa_check_parameters="issue"), 400),
    ("caa-domains-string", caa("example.test", caa_check_parameters={"caa_domains": "ca.example.net"}), 400),
    ("caa-domains-numbers", caa("example.test", caa_check_parameters={"caa_domains": [1, 2]}), 400),
    ("certificate-type-number", caa("example.test", caa_check_parameters={"certificate_type": 1}), 400),
    ("dcv-parameters-array", {"check_type": "dcv", "domain_or_ip_target": "dcv.example.test",
                              "dcv_check_parameters": []}, 400),
    ("validation-method-number", dcv("dcv.example.test", validation_method=1, key_authorization_hash=H), 400),
    ("key-authorization-hash-number", dcv("dcv.example.test", validation_method="acme-dns-01",
                                          key_authorization_hash=1), 400),
    ("http-headers-array", dcv("http.dcv.example.test", validation_method="acme-http-01", token="lab-token-ok",
                               key_authorization="lab-token-ok.LabThumbprint0123456789", http_headers=["a"]), 400),
    ("http-header-value-number", dcv("http.dcv.example.test", validation_method="acme-http-01", token="lab-token-ok",
                                     key_authorization="lab-token-ok.LabThumbprint0123456789",
                                     http_headers={"X-A": 1}), 400),
    ("require-exact-case-string", dcv("dcv.example.test", validation_method="dns-change", dns_record_type="TXT",
                                      challenge_value="ChallengeValue-123", require_exact_case="yes"), 400),
    ("match-regex-number", website(7), 400),
    # ---- names -----------------------------------------------------------------------------
    ("label-63", caa(LABEL63 + ".example.test"), 200),
    ("label-64", caa("a" * 64 + ".example.test"), 400),
    ("name-253", caa(NAME253), 200),
    ("name-254", caa("a" + NAME253), 400),
    ("name-100k", caa("a." * 20000 + "example.test"), 400),
    ("empty-label", caa("a..example.test"), 400),
    ("trailing-dot", caa("example.test."), 400),
    ("single-label", caa("localhost"), 400),
    ("leading-hyphen", caa("-a.example.test"), 400),
    ("space-in-name", caa("exa mple.test"), 400),
    ("underscore-in-name", caa("_acme-challenge.example.test"), 400),
    ("wildcard-ok", caa("*.example.test"), 200),
    ("wildcard-twice", caa("*.*.example.test"), 400),
    ("wildcard-inside", caa("a.*.example.test"), 400),
    ("idn-u-label", caa("bücher.example.test"), 200),
    ("idn-a-label", caa("xn--bcher-kva.example.test"), 200),
    ("idn-uppercase-u-label", caa("BÜCHER.example.test"), 200),
    ("idn-disallowed-snowman", caa("a☃.example.test"), 400),
    ("idn-leading-combining-mark", caa("\u0301a.example.test"), 400),
    ("idn-bidi-mixed", caa("אa1.example.test"), 400),
    ("idn-label-over-63-after-punycode", caa("ü" * 60 + ".example.test"), 400),
    ("idn-invalid-a-label", caa("xn--zz-.example.test"), 400),
    ("onion", caa("abcdefghijklmnop.onion"), 400),
    ("onion-uppercase", caa("www.EXAMPLE.ONION"), 400),
    ("onion-dcv", dcv("abc.onion", validation_method="acme-dns-01", key_authorization_hash=H), 400),
    ("in-addr-arpa-caa", caa("5.113.0.203.in-addr.arpa"), 200),
    ("in-addr-arpa-dcv", dcv("5.113.0.203.in-addr.arpa", validation_method="dns-change", dns_record_type="TXT",
                             challenge_value="x"), 400),
    ("ip6-arpa-dcv", dcv("8.7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
                         validation_method="acme-dns-01", key_authorization_hash=H), 400),
    ("in-addr-arpa-dcv-uppercase", dcv("5.113.0.203.IN-ADDR.ARPA", validation_method="acme-dns-01",
                                       key_authorization_hash=H), 400),
    # ---- IP forms --------------------------------------------------------------------------
    ("ipv6-compressed", caa("2001:db8::1"), 200),
    ("ipv6-uppercase", caa("2001:DB8::1"), 200),
    ("ipv6-full-form", caa("2001:0db8:0000:0000:0000:0000:0000:0001"), 200),
    ("ipv6-v4-mapped", caa("::ffff:203.0.113.5"), 200),
    ("ipv6-brackets", caa("[2001:db8::1]"), 400),
    ("ipv6-zone-id", caa("fe80::1%eth0"), 400),
    ("ipv6-zone-id-encoded", caa("fe80::1%25eth0"), 400),
    ("ipv6-with-port", caa("[2001:db8::1]:443"), 400),
    ("ipv6-prefix", caa("2001:db8::/32"), 400),
    ("ipv6-triple-colon", caa("2001:db8:::1"), 400),
    ("ipv6-too-many-groups", caa("1:2:3:4:5:6:7:8:9"), 400),
    ("ipv4-short-form", caa("127.1"), 400),
    ("ipv4-hex", caa("0x7f.0.0.1"), 400),
    ("ipv4-five-parts", caa("1.2.3.4.5"), 400),
    ("ipv4-leading-zeros", caa("010.0.0.1"), 400),
    # ---- lists and long strings --------------------------------------------------------------
    ("caa-domains-64", caa("example.test", caa_check_parameters={"caa_domains": [f"ca{i}.example.net"
                                                                                 for i in range(64)]}), 200),
    ("caa-domains-1000", caa("example.test", caa_check_parameters={"caa_domains": [f"ca{i}.example.net"
                                                                                   for i in range(1000)]}), 400),
    ("caa-domain-invalid", caa("example.test", caa_check_parameters={"caa_domains": ["bad..name"]}), 400),
    ("trace-identifier-512", caa("example.test", trace_identifier="t" * 512), 200),
    ("trace-identifier-513", caa("example.test", trace_identifier="t" * 513), 400),
    ("challenge-value-60k", dcv("dcv.example.test", validation_method="dns-change", dns_record_type="TXT",
                                challenge_value="c" * 60000), 400),
    ("target-60k", caa("a" * 60000), 400),
    ("http-headers-1000", dcv("http.dcv.example.test", validation_method="acme-http-01", token="lab-token-ok",
                              key_authorization="lab-token-ok.LabThumbprint0123456789",
                              http_headers={f"X-H{i}": "v" for i in range(1000)}), 400),
    # ---- match_regex (PCRE2): a failed check or a 400, never a hang ------------------------------
    ("regex-nested-quantifiers", website("(a+)+$"), 200),
    ("regex-alternation-bomb", website("(a|aa|aaa)*b"), 200),
    ("regex-nested-stars", website("(?:(?:(?:C*)*)*)*Z"), 200),
    ("regex-backreference", website("(.*)*\\1Z"), 200),
    ("regex-huge-repeat", website("a{99999}"), 400),
    ("regex-unbalanced", website("(Challenge"), 400),
    ("regex-300-groups", website("(" * 300 + "C" + ")" * 300), 400),
    ("regex-lookbehind-unbounded", website("(?<=a+)C"), 400),
    ("regex-over-4096", website("C" * 4097), 400),
    # ---- content types ---------------------------------------------------------------------
    pytest.param("content-type-text-plain", Raw(head(["x-api-key: {key}", "Content-Type: text/plain",
                                                     f"Content-Length: {len(OK_BODY)}"], OK_BODY)), 200),
    pytest.param("content-type-form", Raw(head(["x-api-key: {key}", "Content-Type: application/x-www-form-urlencoded",
                                               "Content-Length: 27"], b"domain_or_ip_target=exa.com")), 400),
    pytest.param("no-content-type", Raw(head(["x-api-key: {key}", f"Content-Length: {len(OK_BODY)}"], OK_BODY)), 200),
]

# Every row's id is its first value; plain tuples become params.
ROWS = [r if hasattr(r, "marks") else pytest.param(*r) for r in ROWS]
ROWS = [pytest.param(*r.values, marks=r.marks, id=r.values[0]) for r in ROWS]
assert len({r.id for r in ROWS}) == len(ROWS) >= 80


def exchange(cluster, data, trickle=0, slow=0.0, for_s=0.0, timeout=30):
    """Send data, read until the server closes; (status, headers, body, seconds) or status None when
    it closed without answering. trickle: the last `trickle` bytes go one every `slow` s, and the
    sending stops after for_s s (the server should have given up by then)."""
    host, port = cluster.url.split("//")[1].split(":")
    t0 = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        try:
            cut = max(0, len(data) - trickle)
            s.sendall(data[:cut])
            for i in range(cut, len(data)):
                if time.monotonic() - t0 > for_s:
                    break
                s.sendall(data[i:i + 1])
                time.sleep(slow)
        except OSError:
            pass                                  # the server closed on us: read what it said
        if trickle:                               # a server still waiting by now has lost: stop there
            s.settimeout(max(1.0, for_s + 2 - (time.monotonic() - t0)))
        out = read_until_close(s)
    took = time.monotonic() - t0
    if not out:
        return None, {}, b"", took
    return (*parse_http_answer(out), took)


@pytest.mark.parametrize("rid, what, status", ROWS)
def test_hostile_request(cluster, rid, what, status):
    if isinstance(what, Raw):
        data = what.data.replace(b"{key16}", cluster.api_key[:16].encode()).replace(b"{key}", cluster.api_key.encode())
        got, headers, body, took = exchange(cluster, data, what.trickle, what.slow, what.for_s)
        if status == 408 and got is None:
            got = 408                             # closing the slow connection is as good as a 408
        if what.trickle:
            # The deadline, then up to 2 s of lingering close (so that the 408 is not lost to a
            # reset), then slack for a sanitized daemon on a busy machine.
            assert took <= HEADER_DEADLINE_S + 4, f"{rid}: the slow client was held for {took:.1f} s"
    else:
        body_bytes = what if isinstance(what, bytes) else json.dumps(what, ensure_ascii=False).encode()
        data = head(["x-api-key: " + cluster.api_key, "Content-Type: application/json",
                     f"Content-Length: {len(body_bytes)}"], body_bytes)
        got, headers, body, took = exchange(cluster, data)
    assert got == status, f"{rid}: HTTP {got} (want {status}) after {took:.1f} s: {body[:600]!r}"
    if got in (200, 400, 413) and not (isinstance(what, Raw) and what.trickle):
        assert headers.get("content-type", "").startswith("application/json"), f"{rid}: {headers}"
        doc = json.loads(body)
        if got == 200:
            schema.assert_valid(schema.response_schema_name(doc), doc)
        elif got == 400 and "validation_issues" in doc:
            schema.assert_valid("ValidationError", doc)
        else:
            assert isinstance(doc.get("message"), str) and doc["message"], f"{rid}: {doc}"


def test_orchestrator_still_serves_after_the_table(cluster):
    r = cluster.caa("example.test")
    assert r.status_code == 200 and r.body["is_valid"] is True, r.text
