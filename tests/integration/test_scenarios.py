"""Scenario mode (local-cluster.sh up --scenarios, docs/conformance-scenarios.md): every row of
tests/conformance/scenarios.json is sent to a scenario cluster and its expectation checked, so the
table a client developer reads cannot drift from what the server does. Plus the guards of the lab
behaviours: refused under cabf-br, refused by a build without them, listed by mpic-agent -t.

Own cluster: port 18600, DNS lab 127.0.69.1 (web lab 127.0.69.11..19)."""
import json
import subprocess

import pytest

from conftest import CLUSTER_SCRIPT, REPO, build_dir, cluster_lifetime, describe

PORT, LAB_IP = 18600, "127.0.69.1"
TABLE = json.loads((REPO / "tests" / "conformance" / "scenarios.json").read_text())
# Every key a row may carry; a key outside these would be an expectation nobody checks.
EXPECT_KEYS = {"status", "is_valid", "mpic_completed", "attempt_count", "previous_attempt_results",
               "min_failed_perspectives", "max_failed_perspectives", "incomplete_perspectives",
               "perspective_count", "previous_attempt_failed", "min_elapsed_ms", "max_elapsed_ms", "issue_type"}
HTTP_KEYS = {"method", "path", "api_key", "raw_body", "pad_bytes"}


@pytest.fixture(scope="module")
def cluster(request):
    yield from cluster_lifetime(request, PORT, LAB_IP, None, "--scenarios")


def send(cluster, row):
    """The request of a row as a client would send it (docs/conformance-scenarios.md, "http")."""
    h = row.get("http", {})
    key = {"none": None, None: cluster.api_key}.get(h.get("api_key"), h.get("api_key"))
    path = h.get("path", "/v1/mpic")
    if "raw_body" in h:
        return cluster.mpic(h["raw_body"], key=key, path=path)
    if h.get("method", "POST") != "POST" or "pad_bytes" in h:
        headers = {"Content-Type": "application/json", **({"x-api-key": key} if key else {})}
        data = json.dumps(row["request"]) + " " * h.get("pad_bytes", 0)
        r = cluster.session.request(h.get("method", "POST"), cluster.url + path, data=data, headers=headers,
                                    timeout=30)
        r.elapsed_s = r.elapsed.total_seconds()
        return r
    return cluster.mpic(row["request"], key=key, path=path)


def failed(perspectives):
    return sum(1 for p in perspectives if not p["check_response"]["check_passed"])


def check_row(row, r):
    e = row["expect"]
    assert r.status_code == e["status"], describe(r)
    if e.get("issue_type") is not None:
        assert e["issue_type"] in [i["issue_type"] for i in r.body["validation_issues"]], describe(r)
    if r.status_code != 200:
        return
    b = r.body
    ps = b["perspectives"]
    for key in ("is_valid", "mpic_completed"):
        if e.get(key) is not None:
            assert b[key] is e[key], f"{key}: {describe(r)}"
    if e.get("attempt_count") is not None:
        assert b["actual_orchestration_parameters"]["attempt_count"] == e["attempt_count"], describe(r)
    if e.get("perspective_count") is not None:
        assert b["actual_orchestration_parameters"]["perspective_count"] == e["perspective_count"], describe(r)
        assert len(ps) == e["perspective_count"], describe(r)
    if e.get("previous_attempt_results") == "null":
        assert b["previous_attempt_results"] is None, describe(r)
    elif e.get("previous_attempt_results") == "list":
        prev = b["previous_attempt_results"]
        assert isinstance(prev, list) and len(prev) == b["actual_orchestration_parameters"]["attempt_count"] - 1, \
            describe(r)
        if e.get("previous_attempt_failed") is not None:
            assert failed(prev[0]) == e["previous_attempt_failed"], describe(r)
            # A later attempt never reuses an earlier attempt's perspectives (disjoint cohorts).
            assert not {p["perspective_code"] for p in prev[0]} & {p["perspective_code"] for p in ps}, describe(r)
    if e.get("min_failed_perspectives") is not None:
        assert failed(ps) >= e["min_failed_perspectives"], describe(r)
    if e.get("max_failed_perspectives") is not None:
        assert failed(ps) <= e["max_failed_perspectives"], describe(r)
    if e.get("incomplete_perspectives") is not None:
        incomplete = sum(1 for p in ps if not p["check_response"]["check_completed"])
        assert incomplete == e["incomplete_perspectives"], describe(r)
    if e.get("min_elapsed_ms") is not None:
        assert r.elapsed_s * 1000 >= e["min_elapsed_ms"], f"{r.elapsed_s:.3f} s: {describe(r)}"
    if e.get("max_elapsed_ms") is not None:
        assert r.elapsed_s * 1000 <= e["max_elapsed_ms"], f"{r.elapsed_s:.3f} s: {describe(r)}"


def test_table_is_well_formed():
    ids = [row["id"] for row in TABLE]
    assert len(ids) == len(set(ids)), "duplicate scenario ids"
    for row in TABLE:
        assert set(row) <= {"id", "description", "request", "expect", "http"}, row["id"]
        assert {"id", "description", "request", "expect"} <= set(row), row["id"]
        assert set(row["expect"]) <= EXPECT_KEYS and "status" in row["expect"], row["id"]
        assert set(row.get("http", {})) <= HTTP_KEYS, row["id"]
        assert row["expect"].get("previous_attempt_results") in (None, "null", "list"), row["id"]
    # The brief of the table: every kind of answer a client must handle is in it.
    statuses = {row["expect"]["status"] for row in TABLE}
    assert statuses == {200, 400, 403, 404, 405, 413}
    assert any(row["expect"].get("mpic_completed") is False for row in TABLE)
    assert any(row["expect"].get("previous_attempt_results") == "list" for row in TABLE)


@pytest.mark.parametrize("row", TABLE, ids=[row["id"] for row in TABLE])
def test_scenario(cluster, row):
    check_row(row, send(cluster, row))


def test_scenarios_are_deterministic(cluster):
    """The rows that depend on lab behaviours answer the same way twice in a row."""
    for row in TABLE:
        if row["id"].startswith("caa-") and "timeout" not in row["id"]:
            check_row(row, send(cluster, row))


def test_first_cohort_is_reported_at_start_up(cluster):
    log = (cluster.state / "logs" / "behaviours.log").read_text()
    assert log.startswith("first cohort of retry.conformance.test: "), log
    assert len(log.split(":", 1)[1].split()) == 3, log


def test_agent_check_lists_its_behaviours(cluster):
    p = subprocess.run([str(build_dir() / "mpic-agent"), "-t", "-c", str(cluster.state / "config" / "agent-us-east-1.json")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert p.returncode == 0, p.stdout
    assert "lab behaviours" in p.stdout
    assert "incomplete.conformance.test: transport-error HTTP 503 after 0 ms" in p.stdout
    assert "near-deadline.conformance.test: delay after 1500 ms" in p.stdout


def _agent_check(binary, cluster, tmp_path, **agent):
    doc = json.loads((cluster.state / "config" / "agent-us-east-1.json").read_text())
    doc["agent"].update(agent)
    for k in [k for k, v in agent.items() if v is None]:
        del doc["agent"][k]
    # Same directory as the cluster's configs so that relative paths keep meaning the same files.
    cfg = cluster.state / "config" / f"test-{tmp_path.name}.json"
    cfg.write_text(json.dumps(doc))
    try:
        return subprocess.run([str(binary), "-t", "-c", str(cfg)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=30)
    finally:
        cfg.unlink()


def test_behaviours_refused_under_cabf_br(cluster, tmp_path):
    for policy in ("cabf-br", None):   # None: the key left out, so the default cabf-br applies
        p = _agent_check(build_dir() / "mpic-agent", cluster, tmp_path, policy=policy)
        assert p.returncode == 1, p.stdout
        assert "agent.lab_behaviours: refused under policy cabf-br" in p.stdout, p.stdout


def test_behaviours_refused_by_a_build_without_them(cluster, tmp_path):
    release = REPO / "build"
    if not (release / "mpic-agent").exists() or (release / "mpic-lab-cohorts").exists():
        pytest.skip(f"no build without MPIC_LAB_BEHAVIOUR in {release}")
    p = _agent_check(release / "mpic-agent", cluster, tmp_path)
    assert p.returncode == 1, p.stdout
    assert "agent.lab_behaviours: this build has no lab behaviours" in p.stdout, p.stdout


def test_scenario_mode_refuses_cabf_br_before_starting_anything(tmp_path):
    p = subprocess.run(["bash", str(CLUSTER_SCRIPT), "up", "--scenarios", "--policy", "cabf-br", "--state",
                        str(tmp_path), "--port", str(PORT + 50), "--lab-ip", LAB_IP, "--build", str(build_dir())],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert p.returncode != 0
    assert "--scenarios runs under policy open-mpic-reference" in p.stdout, p.stdout
    assert not (tmp_path / "pids").exists()
