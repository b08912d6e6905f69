"""Defects found reviewing the orchestrator and the wire model, each pinned by a test that
failed before its fix; plus the client-disconnect path, which the session teardown checks for
sanitizer reports. Session cluster (conftest.py); hung agents are SIGSTOPped and always resumed."""
import json
import os
import signal
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import check_against_spec, describe, parse_json

REMOTE_CHECK = "mpic_error:coordinator:remote_check"
HUNG = "us-east-1"   # in every default cohort: the default perspective_count is all six agents

DNS_KEYS = ["validation_method", "records_seen", "response_code", "ad_flag", "found_at", "cname_chain"]
HTTP_KEYS = ["validation_method", "response_history", "response_url", "response_status_code", "response_page"]
ALPN_KEYS = ["validation_method", "common_name"]


class Hung:
    """SIGSTOP an agent for the length of a with-block: it accepts TCP and never answers."""
    def __init__(self, cluster, code):
        self.pid = cluster.pid(f"agent-{code}")

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)

    def __exit__(self, *exc):
        os.kill(self.pid, signal.SIGCONT)


def post(cluster, body):
    r = requests.post(cluster.url + "/v1/mpic", timeout=40, headers={"x-api-key": cluster.api_key},
                      data=json.dumps(body))
    r.body = parse_json(r.text) if r.status_code in (200, 400) else None
    return r


def test_lost_dcv_perspective_has_details_of_its_method(cluster):
    """A perspective that never answers a DCV check is reported with all-null details in the
    shape of the method's DCV details (DcvCheckResponse), never with CAA details."""
    cases = [
        ({"validation_method": "acme-dns-01", "key_authorization_hash": "x"}, DNS_KEYS),
        ({"validation_method": "acme-http-01", "token": "t", "key_authorization": "t.k"}, HTTP_KEYS),
        ({"validation_method": "acme-tls-alpn-01", "key_authorization_hash": "0" * 64}, ALPN_KEYS),
    ]
    bodies = [{"check_type": "dcv", "domain_or_ip_target": "dcv.example.test", "dcv_check_parameters": p}
              for p, _ in cases]
    with Hung(cluster, HUNG), ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        results = list(pool.map(lambda b: post(cluster, b), bodies))
    for (params, keys), r in zip(cases, results):
        assert r.status_code == 200, describe(r)
        lost = [p["check_response"] for p in r.body["perspectives"] if p["perspective_code"] == HUNG]
        assert len(lost) == 1, describe(r)
        cr = lost[0]
        assert cr["check_completed"] is False and cr["check_passed"] is False, describe(r)
        assert [e["error_type"] for e in cr["errors"]] == [REMOTE_CHECK], describe(r)
        assert list(cr["details"]) == keys, describe(r)
        assert cr["details"]["validation_method"] == params["validation_method"], describe(r)
        assert all(v is None for k, v in cr["details"].items() if k != "validation_method"), describe(r)
        check_against_spec(r)


def test_match_regex_that_cannot_compile_is_400(cluster):
    r = cluster.mpic({"check_type": "dcv", "domain_or_ip_target": "http.dcv.example.test",
                      "dcv_check_parameters": {"validation_method": "website-change", "http_token_path": "p",
                                               "challenge_value": "v", "match_regex": "(unclosed"}})
    assert r.status_code == 400, describe(r)
    issues = r.body["validation_issues"]
    assert [i["issue_type"] for i in issues] == ["invalid-dcv-parameter"], describe(r)
    assert "match_regex" in issues[0]["message"], describe(r)


def test_client_gone_before_its_answer_leaves_the_server_serving(cluster):
    """Clients that hang up while their job waits on an agent: the job still finishes, its
    answer goes nowhere, and the next request is served (teardown checks the sanitizer logs)."""
    u = urllib.parse.urlsplit(cluster.url)
    body = json.dumps({"domain_or_ip_target": "example.test"}).encode()
    head = (f"POST /v1/mpic HTTP/1.1\r\nHost: x\r\nx-api-key: {cluster.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with Hung(cluster, HUNG):
        gone = []
        for _ in range(3):
            s = socket.create_connection((u.hostname, u.port), timeout=10)
            s.sendall(head + body)
            gone.append(s)
        time.sleep(0.5)
        for s in gone:
            s.shutdown(socket.SHUT_RDWR)
            s.close()
        time.sleep(0.5)
    time.sleep(1)
    r = cluster.mpic({"domain_or_ip_target": "example.test"})
    assert r.status_code == 200 and r.body["is_valid"] is True, describe(r)
