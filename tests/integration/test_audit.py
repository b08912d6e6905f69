"""The BR 5.4.1 audit trail: one JSON line per perspective attempt and one per request, read back
from the file the orchestrator appends to (STATE/logs/audit.jsonl in the local cluster); no answer
without its records (a failing audit log answers 500), and no cabf-br start without an audit log."""
import concurrent.futures
import json
import os
import re
import resource
import subprocess
import threading
import time
import uuid

import pytest
import requests

import schema
from conftest import build_dir, check_against_spec, parse_json, port_open

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


def test_every_answered_request_of_a_burst_has_its_records(cluster):
    """50 requests at once: the writer thread commits them in batches, and each answer waits for
    its batch, so every answered request's records are in the file the moment the answer is."""
    traces = ["burst-" + uuid.uuid4().hex for _ in range(50)]

    def one(trace):
        r = requests.post(cluster.url + "/v1/mpic", json={"domain_or_ip_target": "example.test",
                                                          "trace_identifier": trace},
                          headers={"x-api-key": cluster.api_key}, timeout=60)
        return trace, r.status_code, r.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(one, traces))
    lines = [json.loads(l) for l in (cluster.state / "logs" / "audit.jsonl").read_text().splitlines()]
    by_trace = {}
    for l in lines:
        by_trace.setdefault(l["trace_identifier"], []).append(l)
    for trace, status, body in answers:
        assert status == 200 and body["trace_identifier"] == trace
        recs = by_trace.get(trace, [])
        reqs = [l for l in recs if l["event"] == "mpic_request"]
        attempts = [l for l in recs if l["event"] == "perspective_attempt"]
        assert len(reqs) == 1, (trace, recs)
        assert reqs[0]["is_valid"] == body["is_valid"]
        assert len(attempts) == len(body["perspectives"]) + sum(len(a) for a in body.get("previous_attempt_results")
                                                                or [])
        assert {l["request_id"] for l in recs} == {reqs[0]["request_id"]}


def run_check(config):
    return subprocess.run([str(build_dir() / "mpic-orchestrator"), "-c", str(config), "-t"], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)


def cluster_config(cluster, tmp_path, edit):
    cfg = json.loads((cluster.state / "config" / "orchestrator.json").read_text())
    edit(cfg["orchestrator"])
    path = tmp_path / "orchestrator.json"
    path.write_text(json.dumps(cfg))
    return path


def test_check_reports_where_the_audit_log_goes(cluster):
    r = run_check(cluster.state / "config" / "orchestrator.json")
    assert r.returncode == 0, r.stdout
    path = cluster.state / "logs" / "audit.jsonl"
    assert f"audit log: {path} (fsync per-request: each answer waits until its records are synced)" in r.stdout


def test_cabf_br_refuses_to_start_without_an_audit_log(cluster, tmp_path):
    path = cluster_config(cluster, tmp_path, lambda o: (o.pop("audit_log"), o.update(listen="127.0.0.1:18097")))
    r = run_check(path)
    assert r.returncode == 1, r.stdout
    assert "orchestrator.audit_log: required under the cabf-br policy" in r.stdout
    start = subprocess.run([str(build_dir() / "mpic-orchestrator"), "-c", str(path)], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert start.returncode == 1 and "orchestrator.audit_log: required under the cabf-br policy" in start.stdout
    assert not port_open("127.0.0.1", 18097)


def test_reference_policy_runs_without_an_audit_log_but_says_so(cluster, tmp_path):
    path = cluster_config(cluster, tmp_path, lambda o: (o.pop("audit_log"), o.update(policy="open-mpic-reference")))
    r = run_check(path)
    assert r.returncode == 0, r.stdout
    assert "audit log: none (WARNING: no BR 5.4.1 record is kept)" in r.stdout


class Orchestrator:
    """A second orchestrator on the session cluster's agents; its log is read through a pipe, since
    a file size limit set for the audit log would hold for a log file too."""

    def __init__(self, config, port, fsize=None):
        def limit():
            if fsize is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([str(build_dir() / "mpic-orchestrator"), "-c", str(config)], text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=limit)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        for _ in range(200):
            if port_open("127.0.0.1", port):
                return
            time.sleep(0.05)
        raise AssertionError("orchestrator did not start: " + "".join(self.lines))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def mpic(self, key, trace):
        r = requests.post(self.url + "/v1/mpic", json={"domain_or_ip_target": "example.test",
                                                       "trace_identifier": trace},
                          headers={"x-api-key": key}, timeout=60)
        r.body = parse_json(r.text)
        check_against_spec(r)
        return r

    def events(self, name, at_least=1):
        """The log lines of an event, once at least at_least of them arrived (the pipe may lag the answer)."""
        for _ in range(100):
            found = [l for l in list(self.lines) if f" event={name} " in l]
            if len(found) >= at_least:
                break
            time.sleep(0.02)
        return found

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=20)
        self.reader.join(timeout=5)
        log = "".join(self.lines)
        assert rc == 0, log
        assert "ERROR: AddressSanitizer" not in log and "runtime error" not in log, log


def assert_audit_failure(r):
    assert r.status_code == 500, r.text
    schema.assert_valid("ErrorBody", r.body)
    assert r.body["error"] == "audit-log-failure" and r.body["message"]


def test_full_audit_disk_answers_500_until_records_fit_again(cluster, tmp_path):
    """RLIMIT_FSIZE stands in for a full disk: past it write(2) fails with EFBIG (the daemon ignores
    SIGXFSZ). Every request is answered 500 while records cannot be written, with one log line for
    the episode; once the file has room again (truncated here) requests are answered 200."""
    audit = tmp_path / "audit.jsonl"
    limit = 16384
    filler = json.dumps({"event": "filler", "pad": "x" * (limit - 600)}) + "\n"
    audit.write_text(filler)
    path = cluster_config(cluster, tmp_path, lambda o: (o["audit_log"].update(path=str(audit)),
                                                        o.update(listen="127.0.0.1:18096")))
    orch = Orchestrator(path, 18096, fsize=limit)
    try:
        for i in range(3):
            assert_audit_failure(orch.mpic(cluster.api_key, f"full-{i}"))
        # A batch cut short by the limit is cut back: no torn line is left in the file.
        assert audit.read_text() == filler
        assert len(orch.events("audit_write_failed")) == 1, orch.lines
        assert 'error="File too large"' in orch.events("audit_write_failed")[0]
        assert requests.get(orch.url + "/healthz", timeout=5).json()["audit_failures"] == 3
        os.truncate(audit, 0)
        r = orch.mpic(cluster.api_key, "after-recovery")
        assert r.status_code == 200 and r.body["is_valid"] is True
        recs = [json.loads(l) for l in audit.read_text().splitlines()]
        assert [l["trace_identifier"] for l in recs if l["event"] == "mpic_request"] == ["after-recovery"]
        recovered = orch.events("audit_recovered")
        assert len(recovered) == 1 and "failed_requests=3" in recovered[0], orch.lines
    finally:
        orch.stop()


def test_audit_log_on_dev_full_answers_500_never_200(cluster, tmp_path):
    path = cluster_config(cluster, tmp_path, lambda o: (o["audit_log"].update(path="/dev/full"),
                                                        o.update(listen="127.0.0.1:18096")))
    orch = Orchestrator(path, 18096)
    try:
        for i in range(2):
            assert_audit_failure(orch.mpic(cluster.api_key, f"devfull-{i}"))
        failed = orch.events("audit_write_failed")
        assert len(failed) == 1 and "No space left on device" in failed[0], orch.lines
    finally:
        orch.stop()
