"""The orchestrator's HTTP contract: paths, auth, request validation, HTTP/1.1 details,
orchestration parameters and attempts (open-mpic-api.md)."""
import json
import re
import socket
import urllib.parse

import pytest

from conftest import AGENT_CODES, AGENT_RIR, check_against_spec, describe, parse_json



def issue_types(r):
    return [i["issue_type"] for i in r.body["validation_issues"]]


def codes(cohort):
    return [p["perspective_code"] for p in cohort]


# ---- raw HTTP/1.1, for what requests cannot send -----------------------------------------

class RawResponse:
    def __init__(self, interim, status, headers, body):
        self.interim, self.status_code, self.headers, self.content = interim, status, headers, body
        self.text = body.decode("utf-8", "replace")
        self.body = None


def _read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a full response head: {buf!r}")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def raw_post(cluster, path, body, extra_headers=(), expect_continue=False, timeout=30):
    """POST over a plain socket with Connection: close. With expect_continue the body is held
    back until an interim 100 arrives (or 3 s pass, as curl does)."""
    u = urllib.parse.urlsplit(cluster.url)
    assert u.scheme == "http", "raw tests speak plain HTTP to the orchestrator"
    lines = [f"POST {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Content-Type: application/json",
             f"x-api-key: {cluster.api_key}", f"Content-Length: {len(body)}", "Connection: close",
             *extra_headers]
    if expect_continue:
        lines.append("Expect: 100-continue")
    sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
    with sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        interim, buf = None, b""
        if expect_continue:
            sock.settimeout(3)
            try:
                head, buf = _read_head(sock, b"")
                interim = head.split("\r\n")[0]
            except socket.timeout:
                pass
            sock.settimeout(timeout)
            if interim is not None and not interim.split()[1].startswith("1"):
                raise AssertionError(f"final answer before the body was sent: {interim}")
        sock.sendall(body)
        head, rest = _read_head(sock, buf)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    status_line, *hdr_lines = head.split("\r\n")
    headers = {}
    for h in hdr_lines:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        rest = _dechunk(rest)
    r = RawResponse(interim, int(status_line.split()[1]), headers, rest)
    r.status_line = status_line
    if r.status_code in (200, 400):
        r.body = parse_json(r.text)
    check_against_spec(r)
    return r


def _dechunk(data):
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2:]
    return out


# ---- paths and auth -----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/mpic", "/v1/mpic/", "/mpic", "/mpic/"])
def test_mpic_served_on_both_paths_with_optional_slash(cluster, path):
    r = cluster.mpic({"check_type": "caa", "domain_or_ip_target": "example.test"}, path=path)
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is True, describe(r)


@pytest.mark.parametrize("key", [None, "wrong-key", "", "x"], ids=["missing", "wrong", "empty", "short"])
def test_bad_api_key_forbidden(cluster, key):
    r = cluster.mpic({"domain_or_ip_target": "example.test"}, key=key)
    assert r.status_code == 403, describe(r)
    assert r.body == {"message": "Forbidden"}, describe(r)
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers


def test_api_key_value_compared_exactly(cluster):
    k = cluster.api_key
    flipped = k.swapcase() if k.swapcase() != k else k + "!"
    for key in (k + "x", k[:-1], flipped, k + k):
        r = cluster.mpic({"domain_or_ip_target": "example.test"}, key=key)
        assert r.status_code == 403, f"key {key!r}: {describe(r)}"


@pytest.mark.parametrize("name", ["X-API-KEY", "X-Api-Key", "x-API-key"])
def test_api_key_header_name_case_insensitive(cluster, name):
    r = cluster.mpic({"domain_or_ip_target": "example.test"}, key=None, headers={name: cluster.api_key})
    assert r.status_code == 200, describe(r)


def test_healthz_answers_without_api_key(cluster):
    r = cluster.session.get(cluster.url + "/healthz", timeout=10)
    assert r.status_code == 200, describe(r)


# ---- request validation -------------------------------------------------------------------

@pytest.mark.parametrize("raw", [b"{", b"{\"domain_or_ip_target\": \"example.test\",}", b"not json", b""],
                         ids=["truncated", "trailing_comma", "text", "empty"])
def test_malformed_json_is_400_invalid_json(cluster, raw):
    r = cluster.mpic(raw)
    assert r.status_code == 400, describe(r)
    assert "invalid-json" in issue_types(r), describe(r)


@pytest.mark.parametrize("raw", [b"[]", b"\"example.test\"", b"null"], ids=["array", "string", "null"])
def test_json_that_is_not_an_object_is_400(cluster, raw):
    r = cluster.mpic(raw)
    assert r.status_code == 400, describe(r)


def test_bad_perspective_and_quorum_counts_reported_together(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test",
                      "orchestration_parameters": {"perspective_count": 100, "quorum_count": 0}})
    assert r.status_code == 400, describe(r)
    types = issue_types(r)
    assert "invalid-perspective-count" in types and "invalid-quorum-count" in types, describe(r)


@pytest.mark.parametrize("count", [1, 0, -1, 7, 100],
                         ids=["one", "zero", "negative", "more_than_configured", "hundred"])
def test_perspective_count_out_of_range_is_400(cluster, count):
    r = cluster.mpic({"domain_or_ip_target": "example.test",
                      "orchestration_parameters": {"perspective_count": count}})
    assert r.status_code == 400, describe(r)
    assert "invalid-perspective-count" in issue_types(r), describe(r)


@pytest.mark.parametrize("count, quorum", [(6, 3), (6, 7), (4, 2), (4, 5), (5, 3), (6, -1)])
def test_quorum_count_outside_allowed_range_is_400(cluster, count, quorum):
    r = cluster.mpic({"domain_or_ip_target": "example.test",
                      "orchestration_parameters": {"perspective_count": count, "quorum_count": quorum}})
    assert r.status_code == 400, describe(r)
    assert "invalid-quorum-count" in issue_types(r), describe(r)


@pytest.mark.parametrize("body", [{"check_type": "caa"}, {"check_type": "caa", "domain_or_ip_target": ""},
                                  {"check_type": "caa", "domain_or_ip_target": None},
                                  {"check_type": "caa", "domain_or_ip_target": 5}],
                         ids=["missing", "empty", "null", "number"])
def test_missing_or_bad_target_is_400(cluster, body):
    r = cluster.mpic(body)
    assert r.status_code == 400, describe(r)


@pytest.mark.parametrize("target", ["example..test", "exa mple.test", "*.", "*.*.example.test",
                                    "a" * 64 + ".example.test", "http://example.test", "example.test/x",
                                    "*.127.0.0.1", "-bad.example.test"])
def test_malformed_target_is_400_invalid_domain(cluster, target):
    r = cluster.mpic({"check_type": "caa", "domain_or_ip_target": target})
    assert r.status_code == 400, describe(r)
    assert "invalid-domain" in issue_types(r), describe(r)


@pytest.mark.parametrize("check_type", ["CAA", "Caa", "dns", "", 1])
def test_unknown_check_type_is_400(cluster, check_type):
    r = cluster.mpic({"check_type": check_type, "domain_or_ip_target": "example.test"})
    assert r.status_code == 400, describe(r)


def test_dcv_without_parameters_is_400_naming_them(cluster):
    r = cluster.mpic({"check_type": "dcv", "domain_or_ip_target": "example.test"})
    assert r.status_code == 400, describe(r)
    assert "missing-field" in issue_types(r), describe(r)


def test_dcv_unknown_method_and_missing_parameter_listed_together(cluster):
    r = cluster.mpic({"check_type": "dcv", "domain_or_ip_target": "example.test",
                      "orchestration_parameters": {"perspective_count": 1},
                      "dcv_check_parameters": {"validation_method": "acme-dns-02"}})
    assert r.status_code == 400, describe(r)
    assert {"unknown-validation-method", "invalid-perspective-count"} <= set(issue_types(r)), describe(r)


def test_unknown_keys_ignored_at_every_level(cluster):
    r = cluster.mpic({"check_type": "caa", "domain_or_ip_target": "example.test", "future_key": {"a": 1},
                      "orchestration_parameters": {"attempt_count": 5, "perspective_count": 6},
                      "caa_check_parameters": {"future": True}})
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is True, describe(r)


def test_check_type_defaults_to_caa(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test"})
    assert r.status_code == 200, describe(r)
    assert r.body["check_type"] == "caa", describe(r)


def test_dcv_parameters_without_check_type_is_400(cluster):
    """Without check_type a request is CAA; with DCV parameters the client meant DCV, and a CAA
    answer (which may pass) would validate nothing it asked for."""
    r = cluster.mpic({"domain_or_ip_target": "example.test",
                      "dcv_check_parameters": {"validation_method": "dns-change", "dns_record_type": "TXT",
                                               "challenge_value": "not-there"}})
    assert r.status_code == 400, describe(r)
    assert "missing-field" in issue_types(r), describe(r)
    assert any("check_type" in i["message"] for i in r.body["validation_issues"]), describe(r)


@pytest.mark.parametrize("body", [
    {"check_type": "caa", "domain_or_ip_target": "example.onion"},
    {"domain_or_ip_target": "www.duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"},
    {"check_type": "caa", "domain_or_ip_target": "*.example.ONION"},
    {"check_type": "dcv", "domain_or_ip_target": "example.onion",
     "dcv_check_parameters": {"validation_method": "dns-change", "dns_record_type": "TXT", "challenge_value": "x"}},
    {"check_type": "dcv", "domain_or_ip_target": "example.onion",
     "dcv_check_parameters": {"validation_method": "acme-http-01", "token": "t", "key_authorization": "t.k"}},
], ids=["caa", "caa-default", "caa-wildcard", "dcv-dns", "dcv-http"])
def test_onion_target_is_400(cluster, body):
    """RFC 7686: .onion names are not in the DNS, and the BRs allow no DNS-based validation of them."""
    r = cluster.mpic(body)
    assert r.status_code == 400, describe(r)
    assert "invalid-domain" in issue_types(r), describe(r)
    assert any("RFC 7686" in i["message"] for i in r.body["validation_issues"]), describe(r)


# ---- HTTP/1.1 details ---------------------------------------------------------------------

def test_body_over_65536_bytes_is_413(cluster):
    body = json.dumps({"domain_or_ip_target": "example.test", "trace_identifier": "x" * 70000})
    r = cluster.mpic(body)
    assert r.status_code == 413, describe(r)


def test_chunked_body_over_65536_bytes_is_413(cluster):
    data = json.dumps({"domain_or_ip_target": "example.test", "padding": "p" * 70000}).encode()
    r = cluster.mpic(iter([data[i:i + 8192] for i in range(0, len(data), 8192)]))
    assert r.status_code == 413, describe(r)


def test_body_just_under_limit_accepted(cluster):
    body = {"domain_or_ip_target": "example.test", "padding": ""}     # unknown keys are ignored
    body["padding"] = "p" * (65536 - len(json.dumps(body)) - 16)
    r = cluster.mpic(body)
    assert r.status_code == 200, describe(r)


def test_chunked_request_body_accepted(cluster):
    data = json.dumps({"check_type": "caa", "domain_or_ip_target": "example.test",
                       "trace_identifier": "chunked"}).encode()
    r = cluster.mpic(iter([data[:10], data[10:30], data[30:]]))   # requests sends an iterator chunked
    assert r.status_code == 200, describe(r)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.body["trace_identifier"] == "chunked", describe(r)


def test_expect_100_continue_answered_then_body_read(cluster):
    body = json.dumps({"domain_or_ip_target": "example.test"}).encode()
    r = raw_post(cluster, "/v1/mpic", body, expect_continue=True)
    assert r.interim is not None and r.interim.split()[1] == "100", f"no 100 Continue (got {r.interim!r})"
    assert r.status_code == 200, r.text
    assert r.body["is_valid"] is True, r.text


def test_upgrade_h2c_ignored_answers_http_1_1(cluster):
    body = json.dumps({"domain_or_ip_target": "example.test"}).encode()
    r = raw_post(cluster, "/v1/mpic", body, extra_headers=(
        "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"))
    assert r.status_line.startswith("HTTP/1.1 200"), r.status_line
    assert r.body["is_valid"] is True, r.text


def test_content_type_with_charset_accepted(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test"},
                     headers={"Content-Type": "application/json; charset=UTF-8"})
    assert r.status_code == 200, describe(r)


def test_responses_are_application_json(cluster):
    ok = cluster.mpic({"domain_or_ip_target": "example.test"})
    bad = cluster.mpic(b"{")
    for r in (ok, bad):
        assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", describe(r)


def test_timestamp_ns_is_19_digit_integer_literal(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test"})
    assert r.status_code == 200, describe(r)
    literals = re.findall(r'"timestamp_ns"\s*:\s*([^,}\s]+)', r.text)
    assert len(literals) == len(r.body["perspectives"]), r.text
    for lit in literals:
        assert re.fullmatch(r"[1-9][0-9]{18}", lit), f"timestamp_ns literal {lit!r}"
    for p in r.body["perspectives"]:
        ts = p["check_response"]["timestamp_ns"]
        assert type(ts) is int and len(str(ts)) == 19, ts


# ---- echoes -------------------------------------------------------------------------------

def test_trace_identifier_echoed(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test", "trace_identifier": "trace-\u00e9-42 \"q\""})
    assert r.status_code == 200, describe(r)
    assert r.body["trace_identifier"] == "trace-\u00e9-42 \"q\"", describe(r)


def test_absent_optionals_written_as_null(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test"})
    assert r.status_code == 200, describe(r)
    b = r.body
    assert b["trace_identifier"] is None, describe(r)
    assert b["request_orchestration_parameters"] is None, describe(r)
    assert b["previous_attempt_results"] is None, describe(r)


@pytest.mark.phase
def test_request_orchestration_parameters_echoed_with_nulls(cluster):
    m = cluster.br_min
    r = cluster.mpic({"domain_or_ip_target": "example.test", "orchestration_parameters": {"perspective_count": m}})
    assert r.status_code == 200, describe(r)
    assert r.body["request_orchestration_parameters"] == {
        "perspective_count": m, "quorum_count": None, "max_attempts": None}, describe(r)
    assert r.body["actual_orchestration_parameters"] == {
        "perspective_count": m, "quorum_count": m - 1, "attempt_count": 1}, describe(r)


# ---- cohorts, quorum and attempts ---------------------------------------------------------

def test_default_uses_all_six_perspectives_quorum_four(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test"})
    assert r.status_code == 200, describe(r)
    assert r.body["actual_orchestration_parameters"] == {
        "perspective_count": 6, "quorum_count": 4, "attempt_count": 1}, describe(r)
    assert sorted(codes(r.body["perspectives"])) == sorted(AGENT_CODES), describe(r)


def test_explicit_quorum_count_used(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test",
                      "orchestration_parameters": {"perspective_count": 6, "quorum_count": 5}})
    assert r.status_code == 200, describe(r)
    assert r.body["actual_orchestration_parameters"]["quorum_count"] == 5, describe(r)


def test_cohort_deterministic_per_lowercased_target(cluster):
    seen = []
    for target in ("example.test", "example.test", "EXAMPLE.Test"):
        r = cluster.mpic({"domain_or_ip_target": target,
                          "orchestration_parameters": {"perspective_count": cluster.br_min}})
        assert r.status_code == 200, describe(r)
        seen.append(sorted(codes(r.body["perspectives"])))
    assert seen[0] == seen[1] == seen[2], seen


def test_smallest_cohort_is_distinct_and_spans_two_rirs(cluster):
    for target in ("example.test", "deny.example.test", "x.y.climb.example.test", "many.test"):
        r = cluster.mpic({"domain_or_ip_target": target,
                          "orchestration_parameters": {"perspective_count": cluster.br_min}})
        assert r.status_code == 200, describe(r)
        cohort = codes(r.body["perspectives"])
        assert len(set(cohort)) == cluster.br_min, cohort
        assert len({AGENT_RIR[c] for c in cohort}) >= 2, f"{target}: cohort {cohort} in one RIR"


@pytest.mark.phase
def test_perspective_count_below_br_minimum_is_400(cluster):
    for count in range(2, cluster.br_min):
        r = cluster.mpic({"domain_or_ip_target": "example.test",
                          "orchestration_parameters": {"perspective_count": count}})
        assert r.status_code == 400, describe(r)
        assert "policy-minimum-perspectives" in issue_types(r), describe(r)
        msg = [i["message"] for i in r.body["validation_issues"] if i["issue_type"] == "policy-minimum-perspectives"]
        assert f"below the {cluster.br_min} remote perspectives" in msg[0] and cluster.phase in msg[0], describe(r)


def test_valid_target_stops_after_first_attempt(cluster):
    r = cluster.mpic({"domain_or_ip_target": "example.test",
                      "orchestration_parameters": cluster.minimum(max_attempts=3)})
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is True, describe(r)
    assert r.body["actual_orchestration_parameters"]["attempt_count"] == 1, describe(r)
    assert r.body["previous_attempt_results"] is None, describe(r)


@pytest.mark.parametrize("max_attempts", [0, -3])
def test_max_attempts_not_positive_means_one(cluster, max_attempts):
    r = cluster.mpic({"domain_or_ip_target": "deny.example.test",
                      "orchestration_parameters": {"perspective_count": cluster.br_min,
                                                   "max_attempts": max_attempts}})
    assert r.status_code == 200, describe(r)
    assert r.body["actual_orchestration_parameters"]["attempt_count"] == 1, describe(r)
    assert r.body["previous_attempt_results"] is None, describe(r)



def test_request_orchestration_parameters_echo_values_as_sent(cluster):
    m = cluster.br_min
    for sent in ({"perspective_count": m, "quorum_count": m - 1, "max_attempts": 0},
                 {"perspective_count": m, "quorum_count": m, "max_attempts": 1000000}):
        r = cluster.mpic({"domain_or_ip_target": "example.test", "orchestration_parameters": sent})
        assert r.status_code == 200, describe(r)
        assert r.body["request_orchestration_parameters"] == sent, describe(r)
        assert r.body["actual_orchestration_parameters"]["attempt_count"] == 1, describe(r)


@pytest.mark.parametrize("field, issue", [("perspective_count", "invalid-perspective-count"),
                                          ("quorum_count", "invalid-quorum-count")])
def test_validation_message_names_the_value_sent(cluster, field, issue):
    r = cluster.mpic({"domain_or_ip_target": "example.test", "orchestration_parameters": {field: 0}})
    assert r.status_code == 400, describe(r)
    msgs = [i["message"] for i in r.body["validation_issues"] if i["issue_type"] == issue]
    assert msgs, describe(r)
    assert re.search(rf"{field}\D*\b0\b", msgs[0]) and "-1" not in msgs[0], f"message misstates the value: {msgs[0]}"


def test_api_key_checked_before_body(cluster):
    r = cluster.mpic(b"{not json", key="wrong-key")
    assert r.status_code == 403, describe(r)
    assert r.body == {"message": "Forbidden"}, describe(r)


@pytest.mark.parametrize("method, path", [("GET", "/v1/mpic"), ("PUT", "/mpic"), ("POST", "/v2/mpic"),
                                          ("POST", "/v1/mpic/extra"), ("POST", "/")])
def test_other_methods_and_paths_not_served(cluster, method, path):
    r = cluster.session.request(method, cluster.url + path, headers={"x-api-key": cluster.api_key},
                                data=json.dumps({"domain_or_ip_target": "example.test"}), timeout=10)
    assert r.status_code in (403, 404, 405), describe(r)


def test_concurrent_requests_all_answered(cluster):
    from concurrent.futures import ThreadPoolExecutor
    import requests
    cases = [("example.test", True), ("deny.example.test", False), ("x.y.climb.example.test", True),
             ("many.test", True)] * 8

    def one(case):
        target, _ = case
        r = requests.post(cluster.url + "/v1/mpic", timeout=40, headers={"x-api-key": cluster.api_key},
                          data=json.dumps({"domain_or_ip_target": target, "trace_identifier": target}))
        r.body = parse_json(r.text) if r.status_code in (200, 400) else None
        return r

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, cases))
    for (target, valid), r in zip(cases, results):
        check_against_spec(r)
        assert r.status_code == 200, describe(r)
        assert (r.body["trace_identifier"], r.body["is_valid"]) == (target, valid), describe(r)


def test_slow_client_does_not_block_others(cluster):
    u = urllib.parse.urlsplit(cluster.url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as slow:
        slow.sendall(b"POST /v1/mpic HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")   # and then nothing
        r = cluster.mpic({"domain_or_ip_target": "example.test"}, timeout=10)
        assert r.status_code == 200, describe(r)
        assert r.elapsed_s < 5, f"answered after {r.elapsed_s:.1f} s while another client stalled"
