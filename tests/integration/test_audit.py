"""The BR 5.4.1 audit trail: one JSON line per perspective attempt and one per request, read back
from the file the orchestrator appends to (STATE/logs/audit.jsonl in the local cluster)."""
import json
import re
import uuid

import pytest

ATTEMPT_KEYS = ["time", "event", "request_id", "trace_identifier", "target", "check_type", "validation_method",
                "policy", "phase", "attempt", "perspective_code", "rir", "completed", "passed", "reason",
                "latency_ms"]
REQUEST_KEYS = ["time", "event", "request_id", "trace_identifier", "target", "check_type", "validation_method",
                "policy", "phase", "is_valid", "mpic_completed", "quorum", "quorum_required", "passing_rirs", "primary_passed",
                "perspective_count", "attempts", "latency_ms"]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def audit_lines(cluster, trace):
    lines = [json.loads(l) for l in (cluster.state / "logs" / "audit.jsonl").read_text().splitlines()]
    return [l for l in lines if l.get("trace_identifier") == trace]


@pytest.mark.phase
def test_audit_records_every_perspective_attempt_and_the_quorum(cluster):
    trace = "audit-" + uuid.uuid4().hex
    m = cluster.br_min
    r = cluster.mpic({"domain_or_ip_target": "deny.example.test", "trace_identifier": trace,
                      "orchestration_parameters": {"perspective_count": m, "max_attempts": 2}})
    assert r.status_code == 200
    lines = audit_lines(cluster, trace)
    attempts = [l for l in lines if l["event"] == "perspective_attempt"]
    requests_ = [l for l in lines if l["event"] == "mpic_request"]
    assert len(attempts) == 2 * m and len(requests_) == 1, lines
    for a in attempts:
        assert list(a) == ATTEMPT_KEYS
        assert TIME.match(a["time"])
        assert a["target"] == "deny.example.test" and a["check_type"] == "caa"
        assert a["policy"] == "cabf-br" and a["phase"] == cluster.phase
        assert a["rir"] in ("ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC")
        assert a["completed"] is True and a["passed"] is False
        assert a["attempt"] in (1, 2) and a["reason"] and a["latency_ms"] >= 0
    assert {a["attempt"] for a in attempts} == {1, 2}
    seen = {a["perspective_code"] for a in attempts}
    assert seen == {p["perspective_code"] for p in r.body["perspectives"]}
    req = requests_[0]
    assert list(req) == REQUEST_KEYS
    assert req["is_valid"] is False and req["mpic_completed"] is True
    assert req["quorum"] == f"0/{m}" and req["quorum_required"] == m - 1
    assert req["attempts"] == 2 and req["perspective_count"] == m
    assert len({l["request_id"] for l in lines}) == 1


def test_audit_quorum_of_a_valid_request(cluster):
    trace = "audit-" + uuid.uuid4().hex
    r = cluster.mpic({"domain_or_ip_target": "example.test", "trace_identifier": trace})
    assert r.body["is_valid"] is True
    req = [l for l in audit_lines(cluster, trace) if l["event"] == "mpic_request"][0]
    assert req["quorum"] == "6/6" and req["is_valid"] is True and req["passing_rirs"] >= 2


def test_audit_log_never_holds_api_keys_or_the_cohort_secret(cluster):
    cluster.mpic({"domain_or_ip_target": "example.test"})
    cluster.mpic({"domain_or_ip_target": "example.test"}, key="wrong-key-" + uuid.uuid4().hex)
    text = (cluster.state / "logs" / "audit.jsonl").read_text()
    secrets = [cluster.api_key, (cluster.state / "secrets" / "cohort-secret").read_bytes().decode("latin-1").strip()]
    for s in secrets:
        assert s and s not in text
    assert "wrong-key-" not in text


@pytest.mark.parametrize("method, params", [
    ("dns-change", {"dns_record_type": "TXT", "challenge_value": "ChallengeValue-123"}),
    ("acme-dns-01", {"key_authorization_hash": "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"}),
])
def test_audit_names_the_dcv_method(cluster, method, params):
    trace = "audit-" + uuid.uuid4().hex
    r = cluster.mpic({"check_type": "dcv", "domain_or_ip_target": "dcv.example.test", "trace_identifier": trace,
                      "dcv_check_parameters": dict(validation_method=method, **params)})
    assert r.status_code == 200 and r.body["is_valid"] is True, r.text
    lines = audit_lines(cluster, trace)
    assert len(lines) == 7, lines
    for line in lines:
        assert line["check_type"] == "dcv" and line["validation_method"] == method, line


def test_audit_caa_has_no_validation_method(cluster):
    trace = "audit-" + uuid.uuid4().hex
    cluster.mpic({"domain_or_ip_target": "example.test", "trace_identifier": trace})
    lines = audit_lines(cluster, trace)
    assert lines and all(l["validation_method"] is None for l in lines), lines
